package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// Info is what a page says about its chapter.
type Info struct {
	Series, Title, Number, Volume string
}

// ChapterInfo completes info with what the page's address says: the
// number from its last path segment when the title has none.
func ChapterInfo(info Info, page *url.URL) Info {
	if info.Number == "" {
		info.Number = Number(info.Title)
	}
	if info.Number == "" && page != nil {
		info.Number = NumberFromPath(page.Path)
	}
	return info
}

// ChapterID is a chapter's stable id (cache key, file names): a hash of
// its address.
func ChapterID(u *url.URL) string {
	sum := sha256.Sum256([]byte(WithoutUser(u).String()))
	return hex.EncodeToString(sum[:8])
}

// Pages turns image URLs into pages that go out with the reader page as
// Referer: readers' CDNs refuse hotlinked images.
func Pages(urls []string, referer *url.URL) []download.Page {
	ref := WithoutUser(referer).String()
	out := make([]download.Page, len(urls))
	for i, u := range urls {
		out[i] = download.Page{URL: u, Header: http.Header{"Referer": {ref}}}
	}
	return out
}

// PagesOf is Pages of the images read from page, or the error of a page
// without any: never an empty chapter.
func PagesOf(urls []string, page *url.URL) ([]download.Page, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no chapter images found on %s", sites.ErrNoPages, WithoutUser(page))
	}
	return Pages(urls, page), nil
}

// Chapter builds the chapter of a reader page.
func Chapter(site string, page *url.URL, info Info, pages []download.Page) *sites.Chapter {
	return &sites.Chapter{
		Site:      site,
		ID:        ChapterID(page),
		Series:    info.Series,
		Number:    info.Number,
		Volume:    info.Volume,
		Title:     Name(info.Title),
		SourceURL: WithoutUser(page).String(),
		Pages:     pages,
	}
}

// LoadFunc loads the pages of one chapter of a series (its reader page
// fetched with the series page as Referer).
type LoadFunc func(ctx context.Context, env sites.Env, chapter *url.URL, referer string) ([]download.Page, error)

// Select turns a series' chapter list into the chapters req selects, in
// reading order whatever order the site lists them in, and loads each
// selected chapter's pages (one request per chapter downloaded, none per
// chapter only listed). Loading them now gives the download its page
// count, and a chapter without images fails the request before anything
// is written. Refresh loads them again for the fetcher's retry round.
func Select(ctx context.Context, env sites.Env, req sites.Request, site, series string, seriesURL *url.URL, links []Link, load LoadFunc) ([]*sites.Chapter, error) {
	sel, err := sites.ParseSelection(req.Chapters)
	if err != nil {
		return nil, err
	}
	links = ReadingOrder(links)
	if len(links) == 0 {
		return nil, fmt.Errorf("%w: the series page %s lists no chapters", sites.ErrLayout, WithoutUser(seriesURL))
	}
	referer := WithoutUser(seriesURL).String()
	chs := make([]*sites.Chapter, 0, len(links))
	for _, l := range links {
		u, err := url.Parse(l.URL)
		if err != nil {
			continue
		}
		ch := Chapter(site, u, Info{Series: series, Title: l.Title, Number: l.Number, Volume: l.Volume}, nil)
		ch.Refresh = func(ctx context.Context) ([]download.Page, error) {
			return load(ctx, env, u, referer)
		}
		chs = append(chs, ch)
	}
	picked, err := sel.Apply(chs, env.MaxChapters)
	if err != nil {
		return nil, err
	}
	for _, ch := range picked {
		if ch.Pages, err = ch.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("chapter %s: %w", label(ch), err)
		}
	}
	return picked, nil
}

// label names a chapter in errors: its number, else its title, else its
// address.
func label(ch *sites.Chapter) string {
	switch {
	case ch.Number != "":
		return ch.Number
	case ch.Title != "":
		return ch.Title
	}
	return ch.SourceURL
}
