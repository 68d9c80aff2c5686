// Package config reads mangabot's TOML configuration. Every key has a
// default (Default), a `help` tag, and is validated; unknown keys are errors
// that name the key. Site options live under [sites.NAME] and are declared
// by the site handlers themselves (the Options of their sites.Register).
package config
