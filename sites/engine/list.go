package engine

import (
	"context"
	"fmt"
	"net/url"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites"
)

// List implements sites.Lister: the series page is read again (and its
// AJAX chapter list, where the theme has one), no chapter page is opened.
// It does not ask Match: a follow outlives the process that detected the
// host, so the page itself must show the engine (pinned hosts excepted).
func (h *Handler) List(ctx context.Context, env sites.Env, req sites.ListRequest) (*sites.Listing, error) {
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		return nil, fmt.Errorf("%w: not an http(s) link", sites.ErrUnsupported)
	}
	doc, err := h.page(ctx, env, req.URL)
	if err != nil {
		return nil, err
	}
	return h.eng.List(ctx, env, doc)
}

// List reads a fetched page (doc.Url is the final URL) as a series page
// and lists its chapters in reading order, without their pages.
func (e Engine) List(ctx context.Context, env sites.Env, doc *goquery.Document) (*sites.Listing, error) {
	doc, err := e.open(ctx, env, doc)
	if err != nil {
		return nil, err
	}
	if !e.IsSeries(doc) {
		return nil, fmt.Errorf("%w: %s is not a %s series page; follow the series' page, not a chapter", sites.ErrUnsupported, WithoutUser(doc.Url), e.Label)
	}
	title, links, err := e.Series(ctx, env, doc)
	if err != nil {
		return nil, err
	}
	l := &sites.Listing{Series: title}
	for _, link := range ReadingOrder(links) {
		u, err := url.Parse(link.URL)
		if err != nil {
			continue
		}
		l.Chapters = append(l.Chapters, Chapter(e.Name, u, Info{Series: title, Title: link.Title, Number: link.Number, Volume: link.Volume}, nil))
	}
	return l, nil
}
