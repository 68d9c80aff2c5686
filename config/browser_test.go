package config

import (
	"strings"
	"testing"
	"time"
)

func TestBrowserSection(t *testing.T) {
	c, err := Parse("[browser]\nenabled = true\nauto = true\nmax_tabs = 4\ntimeout = \"20s\"\nquiet_period = \"800ms\"\npath = \"/opt/chromium/chrome\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Browser{Enabled: true, Auto: true, MaxTabs: 4, Timeout: Duration{20 * time.Second}, QuietPeriod: Duration{800 * time.Millisecond}, Path: "/opt/chromium/chrome"}
	if c.Browser != want {
		t.Fatalf("browser %+v, want %+v", c.Browser, want)
	}
	if d := Default().Browser; d.Enabled || d.Auto {
		t.Fatalf("the browser is on by default: %+v", d)
	}
	for text, key := range map[string]string{
		"[browser]\nmax_tabs = 0\n":                            "browser.max_tabs",
		"[browser]\ntimeout = \"0s\"\n":                        "browser.timeout",
		"[browser]\ntimeout = \"2s\"\nquiet_period = \"3s\"\n": "browser.quiet_period",
		"[browser]\nheadful = true\n":                          "browser.headful",
	} {
		if _, err := Parse(text); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: error %v does not name %s", text, err, key)
		}
	}
	var env Config = *Default()
	if err := env.applyEnv(func(k string) (string, bool) {
		return map[string]string{"MANGABOT_BROWSER_ENABLED": "true", "MANGABOT_BROWSER_MAX_TABS": "3"}[k], k == "MANGABOT_BROWSER_ENABLED" || k == "MANGABOT_BROWSER_MAX_TABS"
	}); err != nil || !env.Browser.Enabled || env.Browser.MaxTabs != 3 {
		t.Fatalf("environment: %v %+v", err, env.Browser)
	}
}
