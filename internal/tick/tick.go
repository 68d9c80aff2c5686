// Package tick runs background chores at an interval.
package tick

import (
	"context"
	"time"
)

// Every calls f every d until ctx ends (not at once: the first call is
// after d).
func Every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
