package mangathemesia

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
)

// Name is the engine's site name ([sites.mangathemesia], `bot sites`).
const Name = "mangathemesia"

// Engine is MangaThemesia as the engine registry knows it.
var Engine = engine.Engine{Name: Name, Label: "MangaThemesia", Detect: Detect, Read: read}

func init() {
	engine.Register(Engine)
	sites.Register(sites.Info[engine.Options]{
		Name:        Name,
		Description: "Engine: MangaThemesia (WordPress \"MangaReader\" theme), on any host whose pages show it: chapters (ts_reader script or #readerarea) and series with their #chapterlist.",
		Patterns:    []string{"https://<mangathemesia site>/<series>-chapter-<n>/", "https://<mangathemesia site>/manga/<series>/"},
		Options:     func() *engine.Options { return &engine.Options{Hosts: []string{}} },
		New:         func(o *engine.Options) (sites.Handler, error) { return engine.NewHandler(Engine, o) },
	})
}

func read(ctx context.Context, env sites.Env, req sites.Request, doc *goquery.Document) ([]*sites.Chapter, error) {
	u := doc.Url
	switch {
	case IsChapter(doc):
		pages, err := chapterPages(doc)
		if err != nil {
			return nil, err
		}
		ci := ReadChapter(doc, u)
		return []*sites.Chapter{engine.Chapter(Name, u, engine.Info{Series: ci.Series, Title: ci.Title, Number: ci.Number}, pages)}, nil
	case IsSeries(doc):
		s := ReadSeries(doc, u)
		return engine.Select(ctx, env, req, Name, s.Title, u, s.Links, loadChapter)
	}
	return nil, fmt.Errorf("%w: %s is a MangaThemesia page but neither a chapter nor a series page", sites.ErrLayout, u)
}

func loadChapter(ctx context.Context, env sites.Env, chapter *url.URL, referer string) ([]download.Page, error) {
	doc, err := engine.Fetch(ctx, env, chapter, referer)
	if err != nil {
		return nil, fmt.Errorf("chapter page: %w", err)
	}
	return chapterPages(doc)
}

func chapterPages(doc *goquery.Document) ([]download.Page, error) {
	urls, err := Images(doc, doc.Url)
	if errors.Is(err, ErrNovel) {
		return nil, fmt.Errorf("%w: %s: %v", sites.ErrNoPages, doc.Url, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no chapter images found on %s", sites.ErrNoPages, doc.Url)
	}
	return engine.Pages(urls, doc.Url), nil
}
