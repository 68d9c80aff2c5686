package pipeline

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"

	"github.com/mangabot/mangabot/browser"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/sites"
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

// renderer lets site handlers render pages (sites.Renderer).
type renderer struct{ r *browser.Resolver }

func (rd renderer) Render(ctx context.Context, pageURL string) (*sites.Rendered, error) {
	res, err := rd.r.Resolve(ctx, pageURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		return nil, fmt.Errorf("render: final URL %q: %w", res.URL, err)
	}
	refused := make([]string, len(res.Blocked))
	for i, b := range res.Blocked {
		refused[i] = b.String()
	}
	return &sites.Rendered{URL: u, HTML: res.HTML, UserAgent: res.UserAgent, Cookie: res.CookieHeader, Refused: refused}, nil
}

// Close stops what the Env started: the headless browser and its
// processes. Call it once, when the process is done with the Env.
func (e *Env) Close() error {
	if e.Browser == nil {
		return nil
	}
	return e.Browser.Close()
}
