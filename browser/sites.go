package browser

import (
	"context"
	"fmt"
	"net/url"

	"github.com/mangabot/mangabot/sites"
)

// Render is Resolve as the site handlers see it (sites.Renderer).
func (r *Resolver) Render(ctx context.Context, pageURL string) (*sites.Rendered, error) {
	res, err := r.Resolve(ctx, pageURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		return nil, fmt.Errorf("render: final URL %q: %w", res.URL, err)
	}
	refused := make([]string, len(res.Blocked))
	for i, b := range res.Blocked {
		refused[i] = b.String()
	}
	return &sites.Rendered{URL: u, HTML: res.HTML, UserAgent: res.UserAgent, Cookie: res.CookieHeader, Refused: refused, Unsettled: !res.Settled}, nil
}
