package mangadex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mangabot/mangabot/sites"
)

func (m *handler) Search(ctx context.Context, env sites.Env, query string) ([]sites.SearchResult, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	q := url.Values{
		"title": {query},
		"limit": {"10"},
		// Best match first; without it the API sorts by latest upload.
		"order[relevance]": {"desc"},
		"contentRating[]":  m.opts.ContentRatings,
	}
	var res collection
	if err := m.get(ctx, env, "/manga", q, &res); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if res.Data == nil {
		return nil, layoutErr("search answer lacks data")
	}
	out := make([]sites.SearchResult, 0, len(res.Data))
	for _, e := range res.Data {
		if !uuidOnly.MatchString(e.ID) || len(e.Attributes) == 0 {
			return nil, layoutErr("search result without id or attributes")
		}
		var a mangaAttrs
		if err := json.Unmarshal(e.Attributes, &a); err != nil {
			return nil, layoutErr("search result %s: %v", e.ID, err)
		}
		t := titleOf(&a)
		if t == "" {
			t = e.ID
		}
		out = append(out, sites.SearchResult{Title: t, URL: m.siteLink("title", strings.ToLower(e.ID))})
	}
	return out, nil
}
