package main

import (
	"context"
	"testing"
)

// A binary built without -ldflags says "dev"; all three spellings work.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "-version", "--version"} {
		r := run(t, context.Background(), arg)
		if r.code != 0 || r.stdout != "mangabot dev\n" || r.stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, r.code, r.stdout, r.stderr)
		}
	}
}
