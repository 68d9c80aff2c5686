package sites

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Renderer loads a page in a headless browser and returns it as the browser
// left it once settled (scripts run, lazy images loaded). The pipeline
// provides one (package browser) when [browser] enabled is set; handlers
// reach it through Render.
type Renderer interface {
	Render(ctx context.Context, pageURL string) (*Rendered, error)
}

// Rendered is a page after rendering.
type Rendered struct {
	URL       *url.URL // final URL (after redirects and reloads): the Referer
	HTML      string   // the rendered DOM
	UserAgent string   // the browser's User-Agent; images must go with it
	// Cookie returns the Cookie header the browser would send to an image
	// URL ("" for none): challenge cookies are often required.
	Cookie func(imageURL string) string
	// Refused lists the requests of the page the address guard refused
	// ("URL: reason"), to explain a page that shows nothing.
	Refused []string
	// Unsettled: the render timeout came before the page went quiet, so
	// images may be missing.
	Unsettled bool
}

// Header returns the headers of an image found on the page: referer as
// Referer, the browser's cookies for the image and its User-Agent.
func (r *Rendered) Header(imageURL, referer string) http.Header {
	h := http.Header{"Referer": {referer}}
	if r.UserAgent != "" {
		h.Set("User-Agent", r.UserAgent)
	}
	if r.Cookie != nil {
		if c := r.Cookie(imageURL); c != "" {
			h.Set("Cookie", c)
		}
	}
	return h
}

// ErrNeedsBrowser: a page must be rendered and [browser] is off.
var ErrNeedsBrowser = errors.New("this page needs a browser: set [browser] enabled = true (and install chromium)")

// Render renders u with env's Renderer; ErrNeedsBrowser without one.
func Render(ctx context.Context, env Env, u *url.URL) (*Rendered, error) {
	if env.Renderer == nil {
		return nil, ErrNeedsBrowser
	}
	return env.Renderer.Render(ctx, u.String())
}
