package mangathemesia

import (
	"context"
	"errors"
	"fmt"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
)

// Name is the engine's site name ([sites.mangathemesia], `bot sites`).
const Name = "mangathemesia"

// Engine is MangaThemesia as the engine registry knows it.
var Engine = engine.Engine{
	Name:        Name,
	Label:       "MangaThemesia",
	Description: "Engine: MangaThemesia (WordPress \"MangaReader\" theme), on any host whose pages show it: chapters (ts_reader script or #readerarea) and series with their #chapterlist.",
	Patterns:    []string{"https://<mangathemesia site>/<series>-chapter-<n>/", "https://<mangathemesia site>/manga/<series>/"},
	Detect:      Detect,
	IsChapter:   IsChapter,
	IsSeries:    IsSeries,
	Pages:       chapterPages,
	Chapter:     ReadChapter,
	Series: func(_ context.Context, _ sites.Env, doc *goquery.Document) (string, []engine.Link, error) {
		s := ReadSeries(doc, doc.Url)
		return s.Title, s.Links, nil
	},
	SeriesLink: func(doc *goquery.Document) string {
		if a := doc.Find(".allc a[href]").First(); a.Length() > 0 {
			return a.AttrOr("href", "")
		}
		return doc.Find(".ts-breadcrumb li a[href]").Eq(1).AttrOr("href", "")
	},
}

func init() { engine.Register(Engine) }

func chapterPages(_ context.Context, _ sites.Env, doc *goquery.Document) ([]download.Page, error) {
	urls, err := Images(doc, doc.Url)
	if errors.Is(err, ErrNovel) {
		return nil, fmt.Errorf("%w: %s: %v", sites.ErrNoPages, doc.Url, err)
	}
	return engine.PagesOf(urls, doc.Url)
}
