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
var Engine = engine.Engine{
	Name:        Name,
	Label:       "FoOlSlide",
	Description: "Engine: FoOlSlide (PHP reader of scanlation groups), on any host whose pages show it: chapters and series, adult notice answered.",
	Patterns:    []string{"https://<foolslide site>/read/<series>/<lang>/<volume>/<chapter>/", "https://<foolslide site>/series/<series>/"},
	Detect:      Detect,
	Open:        pastAdultGate,
	IsChapter:   IsChapter,
	IsSeries:    IsSeries,
	Pages:       chapterPages,
	Chapter:     ReadChapter,
	Series: func(_ context.Context, _ sites.Env, doc *goquery.Document) (string, []engine.Link, error) {
		s := ReadSeries(doc, doc.Url)
		return s.Title, s.Links, nil
	},
	SeriesLink: func(doc *goquery.Document) string {
		return doc.Find("h1.tbtitle a[href]").First().AttrOr("href", "")
	},
}

func init() { engine.Register(Engine) }

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

func chapterPages(_ context.Context, _ sites.Env, doc *goquery.Document) ([]download.Page, error) {
	return engine.PagesOf(Images(doc, doc.Url), doc.Url)
}
