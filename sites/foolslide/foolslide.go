package foolslide

import (
	"context"
	"fmt"
	"net/url"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
)

// Name is the engine's site name ([sites.foolslide], `bot sites`).
const Name = "foolslide"

// Engine is FoOlSlide as the engine registry knows it.
var Engine = engine.Engine{Name: Name, Label: "FoOlSlide", Detect: Detect, Read: read}

func init() {
	engine.Register(Engine)
	sites.Register(sites.Info[engine.Options]{
		Name:        Name,
		Description: "Engine: FoOlSlide (PHP reader of scanlation groups), on any host whose pages show it: chapters and series, adult notice answered.",
		Patterns:    []string{"https://<foolslide site>/read/<series>/<lang>/<volume>/<chapter>/", "https://<foolslide site>/series/<series>/"},
		Options:     func() *engine.Options { return &engine.Options{Hosts: []string{}} },
		New:         func(o *engine.Options) (sites.Handler, error) { return engine.NewHandler(Engine, o) },
	})
}

func read(ctx context.Context, env sites.Env, req sites.Request, doc *goquery.Document) ([]*sites.Chapter, error) {
	doc, err := pastAdultGate(ctx, env, doc)
	if err != nil {
		return nil, err
	}
	u := doc.Url
	switch {
	case IsChapter(doc):
		pages, err := chapterPages(doc)
		if err != nil {
			return nil, err
		}
		ci := ReadChapter(doc, u)
		return []*sites.Chapter{engine.Chapter(Name, u, engine.Info{Series: ci.Series, Title: ci.Title, Number: ci.Number, Volume: ci.Volume}, pages)}, nil
	case IsSeries(doc):
		s := ReadSeries(doc, u)
		chs, err := engine.Select(ctx, env, req, Name, s.Title, u, s.Links, loadChapter)
		if err != nil {
			return nil, err
		}
		for _, c := range chs {
			if cu, err := url.Parse(c.SourceURL); err == nil {
				if p, ok := ParsePath(cu.Path); ok && p.Volume != "0" {
					c.Volume = p.Volume
				}
			}
		}
		return chs, nil
	}
	return nil, fmt.Errorf("%w: %s is a FoOlSlide page but neither a chapter nor a series page", sites.ErrLayout, u)
}

// pastAdultGate answers FoOlSlide's adult notice: the same address posted
// with adult=true is the real page.
func pastAdultGate(ctx context.Context, env sites.Env, doc *goquery.Document) (*goquery.Document, error) {
	if !IsAdultGate(doc) {
		return doc, nil
	}
	next, err := sites.DoHTML(ctx, env, sites.Req{URL: doc.Url, Form: url.Values{"adult": {"true"}}, Referer: doc.Url.String()})
	if err != nil {
		return nil, fmt.Errorf("adult notice: %w", err)
	}
	next.Url = engine.WithoutUser(next.Url)
	if IsAdultGate(next) {
		return nil, fmt.Errorf("%w: %s keeps showing its adult notice", sites.ErrLayout, doc.Url)
	}
	return next, nil
}

func loadChapter(ctx context.Context, env sites.Env, chapter *url.URL, referer string) ([]download.Page, error) {
	doc, err := engine.Fetch(ctx, env, chapter, referer)
	if err != nil {
		return nil, fmt.Errorf("chapter page: %w", err)
	}
	if doc, err = pastAdultGate(ctx, env, doc); err != nil {
		return nil, err
	}
	return chapterPages(doc)
}

func chapterPages(doc *goquery.Document) ([]download.Page, error) {
	urls := Images(doc, doc.Url)
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no chapter images found on %s", sites.ErrNoPages, doc.Url)
	}
	return engine.Pages(urls, doc.Url), nil
}
