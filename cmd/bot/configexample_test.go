package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// `bot config-example` prints the committed config.example.toml, and what
// it prints is a config the binary loads.
func TestConfigExample(t *testing.T) {
	r := run(t, context.Background(), "config-example")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(committed) {
		t.Error("config.example.toml differs from `bot config-example`: regenerate it with `go run ./cmd/bot config-example > config.example.toml`")
	}
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, context.Background(), "sites", "-config", p); r.code != 0 {
		t.Fatalf("the example does not load: exit %d: %s", r.code, r.stderr)
	}
}
