package engine

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites"
)

// Options are an engine's [sites.NAME] options.
type Options struct {
	Hosts []string `toml:"hosts" help:"Hosts that run this engine, for pages where detection is not enough\n(e.g. [\"reader.example.com\"]). Other hosts are recognised from their pages."`
}

// Handler is an engine's site handler: it takes the links of the hosts
// pinned to the engine in config and of the hosts whose pages showed the
// engine (the generic handler detects those on first contact).
type Handler struct {
	eng   Engine
	hosts map[string]bool
}

// NewHandler builds the handler of eng with the pinned hosts.
func NewHandler(eng Engine, o *Options) (*Handler, error) {
	h := &Handler{eng: eng, hosts: map[string]bool{}}
	if o == nil {
		return h, nil
	}
	for i, raw := range o.Hosts {
		host := hostKey(strings.TrimSpace(raw))
		if host == "" || strings.ContainsAny(host, "/:@ ") || strings.Contains(host, "*") {
			return nil, fmt.Errorf("hosts[%d]: %q is not a host name (want reader.example.com, without scheme, port or path)", i, raw)
		}
		if h.hosts[host] {
			return nil, fmt.Errorf("hosts[%d]: %q is listed twice", i, raw)
		}
		h.hosts[host] = true
	}
	return h, nil
}

// Match takes http(s) links of pinned hosts and of hosts detected as the
// engine.
func (h *Handler) Match(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return h.hosts[hostKey(u.Hostname())] || Known(u.Host) == h.eng.Name
}

// Resolve fetches the link's page and reads it as the engine's.
func (h *Handler) Resolve(ctx context.Context, env sites.Env, req sites.Request) ([]*sites.Chapter, error) {
	if req.URL == nil || !h.Match(req.URL) {
		return nil, sites.Unsupported("%s is not a %s site", hostOf(req.URL), h.eng.Label)
	}
	doc, err := h.page(ctx, env, req.URL)
	if err != nil {
		return nil, err
	}
	return h.eng.Read(ctx, env, req, doc)
}

// page fetches u and checks that it is still the engine's (pinned hosts
// are taken as they are).
func (h *Handler) page(ctx context.Context, env sites.Env, u *url.URL) (*goquery.Document, error) {
	doc, err := Fetch(ctx, env, u, "")
	if err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	if !h.hosts[hostKey(u.Hostname())] && !h.eng.Detect(doc) {
		// Remembered from an earlier page, but this one is not the
		// engine's: forget the host so its next link is looked at anew.
		Forget(u.Host)
		return nil, fmt.Errorf("%w: %s no longer looks like a %s site; try the link again", sites.ErrLayout, u.Host, h.eng.Label)
	}
	return doc, nil
}

func hostOf(u *url.URL) string {
	if u == nil {
		return "the link"
	}
	return u.Host
}

// Fetch gets and parses a page with the shared HTTP helper; doc.Url is the
// final URL. user:pass@ in the link is for the reader's host alone and is
// dropped from the URL the document remembers (it becomes Referers,
// SourceURLs and ids).
func Fetch(ctx context.Context, env sites.Env, u *url.URL, referer string) (*goquery.Document, error) {
	doc, err := sites.DoHTML(ctx, env, sites.Req{URL: u, Referer: referer})
	if err != nil {
		return nil, err
	}
	doc.Url = WithoutUser(doc.Url)
	return doc, nil
}

// WithoutUser is a copy of u without user:pass@ and fragment.
func WithoutUser(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	return &c
}
