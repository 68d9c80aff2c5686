// Command bot is mangabot: `bot run` starts the Discord bot, `bot fetch URL`
// runs the same pipeline from a shell, `bot follow add|remove|list|check`
// follows series from a shell, `bot sites` lists the site handlers,
// `bot config-example` prints every configuration key with its default and
// `bot version` the version.
//
// Each subcommand lives in its own file (run.go, fetch.go, follow.go, sites.go,
// configexample.go, version.go) with its test beside it; main.go
// dispatches and holds what they share: loading the config and printing an
// error as one line, prefixed "bot: " once.
package main
