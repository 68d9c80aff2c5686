package generic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites"
)

// load reads one page of the rule's host: rendered when the rule says
// render, else fetched. A nil rule (no rule for the host) fetches.
func (r *compiledRule) load(ctx context.Context, env sites.Env, u *url.URL) (*htmlPage, error) {
	if r != nil && r.Render {
		return renderPage(ctx, env, u)
	}
	return getPage(ctx, env, u)
}

// renderPage renders u in the browser and parses the DOM it ended with.
func renderPage(ctx context.Context, env sites.Env, u *url.URL) (*htmlPage, error) {
	rd, err := sites.Render(ctx, env, u)
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", withoutUser(u), err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rd.HTML))
	if err != nil {
		return nil, fmt.Errorf("page %s: rendered HTML: %w", withoutUser(u), err)
	}
	doc.Url = rd.URL
	pg := newPage(doc)
	pg.rendered = rd
	return pg, nil
}

// autoRender: with [browser] auto, a page whose HTML shows no chapter
// images but carries scripts is rendered and read again.
func autoRender(env sites.Env, pg *htmlPage, err error) bool {
	return env.AutoRender && env.Renderer != nil && pg.rendered == nil &&
		errors.Is(err, sites.ErrLayout) && pg.doc.Find("script").Length() > 0
}

// header is what an image found on pg is fetched with: the Referer, and
// for a rendered page the browser's cookies and User-Agent.
func (pg *htmlPage) header(imageURL, referer string) http.Header {
	if pg.rendered != nil {
		return pg.rendered.Header(imageURL, referer)
	}
	return http.Header{"Referer": {referer}}
}

// refusalNote adds to the failure of a rendered page what may explain it:
// requests the address guard refused, or a render cut short by the
// timeout.
func refusalNote(pg *htmlPage, err error) error {
	if pg == nil || pg.rendered == nil {
		return err
	}
	rd := pg.rendered
	if len(rd.Refused) > 0 {
		err = fmt.Errorf("%w (the browser was refused %d request(s), first %s)", err, len(rd.Refused), rd.Refused[0])
	}
	if rd.Unsettled {
		err = fmt.Errorf("%w (the page was still loading at [browser] timeout)", err)
	}
	return err
}
