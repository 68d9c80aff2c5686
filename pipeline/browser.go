package pipeline

import (
	"net/netip"

	"github.com/mangabot/mangabot/browser"
	"github.com/mangabot/mangabot/config"
)

// newBrowser makes the process's headless browser when [browser] enabled
// is set (nil otherwise). Chromium starts on the first render, so a
// machine without it runs until a page needs it.
func newBrowser(c config.Browser, nets []netip.Prefix, ua string, o Options) *browser.Resolver {
	if !c.Enabled {
		return nil
	}
	return browser.New(browser.Options{
		Path:          c.Path,
		MaxTabs:       c.MaxTabs,
		Timeout:       c.Timeout.Duration,
		QuietPeriod:   c.QuietPeriod.Duration,
		AllowNetworks: nets,
		UserAgent:     ua,
		Observer:      o.BrowserObserver,
		Logger:        o.Logger,
	})
}

// Close stops what the Env started: the headless browser and its
// processes. Call it once, when the process is done with the Env.
func (e *Env) Close() error {
	if e.Browser == nil {
		return nil
	}
	return e.Browser.Close()
}
