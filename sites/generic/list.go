package generic

import (
	"context"
	"fmt"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
)

// List implements sites.Lister for the series pages of theme engines on
// hosts not seen before: the page is fetched, and an engine that
// recognises it lists it (the host is remembered, as Resolve does). A
// gallery page cannot be listed.
func (h *handler) List(ctx context.Context, env sites.Env, req sites.ListRequest) (*sites.Listing, error) {
	if req.URL == nil || !h.Match(req.URL) {
		return nil, fmt.Errorf("%w: not an http(s) link", sites.ErrUnsupported)
	}
	doc, err := engine.Fetch(ctx, env, req.URL, "")
	if err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	e, ok := engine.Detect(doc)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not the series page of a reader mangabot knows (Madara, MangaThemesia, FoOlSlide), so it cannot be followed", sites.ErrUnsupported, withoutUser(req.URL))
	}
	l, err := e.List(ctx, env, doc)
	if err != nil {
		return nil, fmt.Errorf("%s site: %w", e.Label, err)
	}
	return l, nil
}
