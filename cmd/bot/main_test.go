package main

import (
	"context"
	"strings"
	"testing"
)

// Wrong use prints the usage and exits 2; a config that cannot be loaded
// is one line and a non-zero exit.
func TestUsage(t *testing.T) {
	r := run(t, context.Background(), "fetch")
	if r.code != 2 || !strings.Contains(r.stderr, "usage") {
		t.Fatalf("fetch without URL: %d %q", r.code, r.stderr)
	}
	r = run(t, context.Background(), "frobnicate")
	if r.code != 2 {
		t.Fatalf("unknown command: %d", r.code)
	}
	r = run(t, context.Background(), "fetch", "-config", "/nonexistent/c.toml", "https://example.org/")
	if r.code == 0 || !strings.Contains(r.stderr, "config") {
		t.Fatalf("missing config: %d %q", r.code, r.stderr)
	}
}
