package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/config"
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
	cfg := ConfigFrom(config.Default())
	cfg.Token, cfg.OutputDir, cfg.StorePath, cfg.MetricsListen = "x", t.TempDir(), t.TempDir(), ""
	b, err := New(cfg, newEnv(t, nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || strings.HasPrefix(err.Error(), "bot:") || !strings.Contains(err.Error(), cfg.StorePath) {
		t.Fatalf("store that is a directory: %v", err)
	}
}
