package config

import "time"

// Browser configures the headless Chromium that renders readers whose
// pages are built by scripts.
type Browser struct {
	Enabled     bool     `toml:"enabled" help:"Render pages that need a browser (generic rules with render = true, engines that ask, and auto below) in a headless Chromium, started on first use. Off: such pages fail with a message saying so."`
	Path        string   `toml:"path" help:"The Chromium binary; empty: chromium, chromium-browser or google-chrome from $PATH."`
	Auto        bool     `toml:"auto" help:"Also render pages whose HTML holds no chapter images but carries scripts (costs a browser start and seconds per chapter)."`
	MaxTabs     int      `toml:"max_tabs" help:"Pages rendered at once across all jobs; each tab costs tens of MB of memory."`
	Timeout     Duration `toml:"timeout" help:"Most time one render may take once it has a tab: page load, scrolling and waiting for the page to settle."`
	QuietPeriod Duration `toml:"quiet_period" help:"A page has settled when it made no request for this long (at the bottom of the page)."`
}

func defaultBrowser() Browser {
	return Browser{MaxTabs: 2, Timeout: Duration{45 * time.Second}, QuietPeriod: Duration{1500 * time.Millisecond}}
}

func (b Browser) validate(bad func(key, format string, a ...any)) {
	if b.MaxTabs <= 0 {
		bad("browser.max_tabs", "must be at least 1, got %d", b.MaxTabs)
	}
	if b.Timeout.Duration <= 0 {
		bad("browser.timeout", "must be a positive duration, got %s", b.Timeout.Duration)
	}
	if b.QuietPeriod.Duration <= 0 || b.QuietPeriod.Duration >= b.Timeout.Duration {
		bad("browser.quiet_period", "must be positive and below browser.timeout, got %s", b.QuietPeriod.Duration)
	}
}
