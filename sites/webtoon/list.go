package webtoon

import (
	"context"
	"fmt"

	"github.com/mangabot/mangabot/sites"
)

// List implements sites.Lister for list links: the list pages are read
// again each time (WEBTOON has no dates to ask by; Since is ignored).
func (h *handler) List(ctx context.Context, env sites.Env, req sites.ListRequest) (*sites.Listing, error) {
	l, ok := parseLink(req.URL)
	if !ok || l.episodeNo != "" {
		return nil, fmt.Errorf("%w: follow a WEBTOON list link (…/list?title_no=N), not %v", sites.ErrUnsupported, req.URL.Redacted())
	}
	chs, err := h.list(ctx, env, l)
	if err != nil {
		return nil, err
	}
	out := &sites.Listing{Chapters: chs}
	if len(chs) > 0 {
		out.Series = chs[0].Series
	}
	return out, nil
}
