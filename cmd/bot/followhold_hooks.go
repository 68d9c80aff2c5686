//go:build mangabot_testhooks

package main

import (
	"log/slog"
	"os"
)

// followHold is the crash tests' hook, built only with the
// mangabot_testhooks tag (the tests build the binary with it): with MANGABOT_TEST_FOLLOW_HOLD set
// to a stage of follow.Options.Hook ("pending", "delivered"), the poller
// logs "follow hold" there and stops for good, so the test can kill the
// process at that point. Unset (always, outside tests): no hook.
func followHold(logger *slog.Logger) func(string) {
	want := os.Getenv("MANGABOT_TEST_FOLLOW_HOLD")
	if want == "" {
		return nil
	}
	return func(stage string) {
		if stage == want {
			logger.Warn("follow hold", "stage", stage)
			select {}
		}
	}
}
