//go:build !mangabot_testhooks

package main

import "log/slog"

// followHold: a released binary has no test hooks (see
// followhold_hooks.go, built with the mangabot_testhooks tag).
func followHold(*slog.Logger) func(string) { return nil }
