package bot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/fakediscord"
)

// The bot takes its defaults from package config only: a Config not built
// by ConfigFrom is refused with what is missing, not filled in.
func TestNewRefusesIncompleteConfig(t *testing.T) {
	env := newEnv(t, nil, nil)
	_, err := New(Config{Token: "x", APIURL: "https://discord.com"}, env, nil)
	if err == nil || !strings.Contains(err.Error(), "OutputDir") || !strings.Contains(err.Error(), "TokenTTL") {
		t.Fatalf("incomplete config: %v", err)
	}
	_, err = New(ConfigFrom(config.Default()), env, nil)
	if err == nil || err.Error() != "no Discord token" {
		t.Fatalf("no token: %v", err)
	}
	cfg := ConfigFrom(config.Default())
	cfg.Token = "x"
	if _, err := New(cfg, env, nil); err != nil {
		t.Fatalf("config.Default through ConfigFrom: %v", err)
	}
}

// ConfigFrom carries the operator's settings over.
func TestConfigFromCarriesSettings(t *testing.T) {
	c := config.Default()
	c.Output.Dir, c.Bot.MaxJobs, c.Bot.DailyPages, c.Output.MaxParts = "/srv/manga", 7, 300, 4
	got := ConfigFrom(c)
	if got.OutputDir != "/srv/manga" || got.MaxJobs != 7 || got.DailyPages != 300 || got.MaxParts != 4 ||
		got.StorePath != c.Storage.Path || got.EditInterval != c.Bot.EditInterval.Duration {
		t.Fatalf("ConfigFrom: %+v", got)
	}
}

// Errors of Run name the operation once; the command adds "bot: ".
func TestRunErrorsNotPrefixed(t *testing.T) {
	fd := fakediscord.New()
	defer fd.Close()
	cfg := testConfig(t, fd)
	cfg.StorePath = t.TempDir()
	b, err := New(cfg, newEnv(t, nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || strings.HasPrefix(err.Error(), "bot:") || !strings.Contains(err.Error(), cfg.StorePath) {
		t.Fatalf("store that is a directory: %v", err)
	}
}

// A bot that cannot connect creates nothing: no output directory, no
// store, no links directory (and a stale work folder stays until a run
// that does connect).
func TestRunCreatesNothingUntilConnected(t *testing.T) {
	fd := fakediscord.New()
	url := fd.URL
	fd.Close() // nothing listens there any more
	dir := filepath.Join(t.TempDir(), "data")
	cfg := ConfigFrom(config.Default())
	cfg.Token, cfg.APIURL, cfg.MetricsListen = "x", url, ""
	cfg.OutputDir, cfg.StorePath = dir, filepath.Join(dir, "mangabot.db")
	cfg.PublicURL, cfg.Listen = "https://bot.example", "127.0.0.1:0"
	b, err := New(cfg, newEnv(t, nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "connect to discord: ") {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("output dir created before connecting: %v", err)
	}
}

// Once connected, the bot removes work folders that killed `bot fetch`
// runs left in its output directory, and keeps live ones.
func TestRunCleansDeadWorkFolders(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, ".mangabot-job-0123456789abcdef")
	if err := os.MkdirAll(filepath.Join(dead, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dead, ".lock"), []byte("999999\n"), 0o644)
	os.WriteFile(filepath.Join(dead, "1", "page-0001.jpg"), []byte("x"), 0o644)
	h := start(t, func(c *Config) { c.OutputDir = dir })
	h.waitFor("dead work folder removed", func() bool {
		_, err := os.Stat(dead)
		return os.IsNotExist(err)
	})
}
