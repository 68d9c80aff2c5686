package engine

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// Engine is one engine's reader, as its package declares it: how to
// recognise its pages and how to read its chapter and series pages.
type Engine struct {
	Name        string   // the site name: [sites.NAME], `bot sites`
	Label       string   // for people: "Madara"
	Description string   // `bot sites`, config.example.toml
	Patterns    []string // link shapes, for people

	// Detect reports whether a page is this engine's.
	Detect func(doc *goquery.Document) bool
	// Open, when set, turns a fetched page into the page to read
	// (FoOlSlide answers its adult notice).
	Open func(ctx context.Context, env sites.Env, doc *goquery.Document) (*goquery.Document, error)
	// IsChapter and IsSeries tell the page's kind.
	IsChapter, IsSeries func(doc *goquery.Document) bool
	// Pages reads a chapter page's images, each with its Referer; it may
	// load more (Madara's list view).
	Pages func(ctx context.Context, env sites.Env, doc *goquery.Document) ([]download.Page, error)
	// Chapter is what a chapter page says about itself.
	Chapter func(doc *goquery.Document) Info
	// Series reads a series page: its title and chapter list, which may
	// take more requests (Madara's AJAX list).
	Series func(ctx context.Context, env sites.Env, doc *goquery.Document) (title string, links []Link, err error)
	// SeriesLink finds, on a chapter page, the link to its series page
	// ("" when none): a chapter link given with a chapter selection is
	// read as its series.
	SeriesLink func(doc *goquery.Document) string
}

var (
	regMu   sync.RWMutex
	engines []Engine // in registration order: the order Detect tries them
	// known remembers, for the process, which engine each host runs: once
	// a page showed it, the host's links go straight to the engine.
	// Keyed by host:port as in the URL: another port is another server.
	known sync.Map // host[:port], lower case -> engine name
)

// Register declares an engine, from its package's init: to the engine
// registry (detection) and as a site (pinned hosts in [sites.NAME],
// `bot sites`, config.example.toml).
func Register(e Engine) {
	if e.Name == "" || e.Detect == nil || e.IsChapter == nil || e.IsSeries == nil || e.Pages == nil || e.Chapter == nil || e.Series == nil {
		panic("engine: Register needs Name, Detect, IsChapter, IsSeries, Pages, Chapter and Series")
	}
	regMu.Lock()
	engines = append(engines, e)
	regMu.Unlock()
	sites.Register(sites.Info[Options]{
		Name:        e.Name,
		Description: e.Description,
		Patterns:    e.Patterns,
		Options:     func() *Options { return &Options{Hosts: []string{}} },
		New:         func(o *Options) (sites.Handler, error) { return NewHandler(e, o) },
	})
}

// Detect finds the engine of a page, and remembers it for the page's host.
func Detect(doc *goquery.Document) (Engine, bool) {
	regMu.RLock()
	list := engines
	regMu.RUnlock()
	for _, e := range list {
		if e.Detect(doc) {
			if doc.Url != nil {
				Remember(doc.Url.Host, e.Name)
			}
			return e, true
		}
	}
	return Engine{}, false
}

// Remember records that host (host[:port]) runs the engine name.
func Remember(host, name string) { known.Store(hostKey(host), name) }

// Forget drops what was remembered of host: its pages stopped showing the
// engine (the site changed its theme).
func Forget(host string) { known.Delete(hostKey(host)) }

// Known returns the engine remembered for host; "" when none.
func Known(host string) string {
	if v, ok := known.Load(hostKey(host)); ok {
		return v.(string)
	}
	return ""
}

func hostKey(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// Read resolves req from its page, already fetched (doc.Url is the final
// URL): the chapter, or the selected chapters of a series.
func (e Engine) Read(ctx context.Context, env sites.Env, req sites.Request, doc *goquery.Document) ([]*sites.Chapter, error) {
	doc, err := e.open(ctx, env, doc)
	if err != nil {
		return nil, err
	}
	if e.IsChapter(doc) && req.Chapters != "" {
		// "chapters 1-5" with a chapter's link: the user means the series.
		if doc, err = e.seriesOf(ctx, env, doc); err != nil {
			return nil, err
		}
	}
	switch {
	case e.IsChapter(doc):
		pages, err := e.Pages(ctx, env, doc)
		if err != nil {
			return nil, err
		}
		return []*sites.Chapter{Chapter(e.Name, doc.Url, e.Chapter(doc), pages)}, nil
	case e.IsSeries(doc):
		title, links, err := e.Series(ctx, env, doc)
		if err != nil {
			return nil, err
		}
		return Select(ctx, env, req, e.Name, title, doc.Url, links, e.load)
	}
	return nil, fmt.Errorf("%w: %s is a %s page but neither a chapter nor a series page", sites.ErrLayout, doc.Url, e.Label)
}

// seriesOf fetches the series page a chapter page links to.
func (e Engine) seriesOf(ctx context.Context, env sites.Env, doc *goquery.Document) (*goquery.Document, error) {
	var link string
	if e.SeriesLink != nil {
		link = LinkURL(doc.Url, e.SeriesLink(doc))
	}
	u, err := url.Parse(link)
	if link == "" || err != nil || !strings.EqualFold(u.Host, doc.Url.Host) {
		return nil, fmt.Errorf("%w: %s is a chapter and links to no series page on its site; give the series link with a chapter selection", sites.ErrBadSelection, doc.Url)
	}
	series, err := Fetch(ctx, env, u, doc.Url.String())
	if err != nil {
		return nil, fmt.Errorf("series page: %w", err)
	}
	series, err = e.open(ctx, env, series)
	if err != nil {
		return nil, err
	}
	if !e.IsSeries(series) {
		return nil, fmt.Errorf("%w: %s, linked as the series of %s, is not a series page", sites.ErrLayout, series.Url, doc.Url)
	}
	return series, nil
}

func (e Engine) open(ctx context.Context, env sites.Env, doc *goquery.Document) (*goquery.Document, error) {
	if e.Open == nil {
		return doc, nil
	}
	return e.Open(ctx, env, doc)
}

// load loads the pages of one chapter of a series.
func (e Engine) load(ctx context.Context, env sites.Env, chapter *url.URL, referer string) ([]download.Page, error) {
	doc, err := Fetch(ctx, env, chapter, referer)
	if err != nil {
		return nil, fmt.Errorf("chapter page: %w", err)
	}
	if doc, err = e.open(ctx, env, doc); err != nil {
		return nil, err
	}
	return e.Pages(ctx, env, doc)
}
