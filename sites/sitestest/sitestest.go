package sitestest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// UA is the User-Agent of the suite's clients.
const UA = "mangabot-test/1 (+https://example.test/contact)"

// Fetcher returns a real fetcher for tests: opts with loopback allowed
// (127.0.0.0/8, as the tests' servers listen there), UA when UserAgent is
// empty, and a 1 ms backoff when BackoffBase is zero.
func Fetcher(opts download.Options) *download.Fetcher {
	opts.AllowNetworks = append(opts.AllowNetworks, netip.MustParsePrefix("127.0.0.0/8"))
	if opts.UserAgent == "" {
		opts.UserAgent = UA
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase = time.Millisecond
	}
	return download.New(opts)
}

// Env returns an Env whose client is a default Fetcher's (address guard,
// limits and retries as in production, loopback allowed).
func Env() sites.Env {
	return sites.Env{Client: Fetcher(download.Options{}).Client(), UserAgent: UA, MaxChapters: 10}
}

// Suite describes one handler and the loopback fixture server its test
// started. Run checks what every handler owes its users.
type Suite struct {
	Handler sites.Handler
	Env     sites.Env // zero: Env()

	// Chapter is a chapter link on the fixture server; it must resolve to
	// at least one page.
	Chapter string
	// Series is a series link (optional): a bad selection must be refused
	// with sites.ErrBadSelection.
	Series string
	// Own are more links Match must take; Foreign are links it must
	// refuse, besides the suite's own list of foreign links (skipped for a
	// Fallback handler, which takes every http(s) link).
	Own, Foreign []string
	Fallback     bool
	// NotFound is a link the fixture server answers with 404 (or whose
	// API answers 404): the error must wrap sites.ErrNotFound and say
	// "not found" once.
	NotFound string
	// Decoys are substrings no page URL may contain (logos, avatars,
	// adverts, thumbnails in the fixture).
	Decoys []string
	// Referer: every page must carry a Referer header (the fixture's CDN
	// refuses images without it).
	Referer bool
	// FetchPages fetches every page of Chapter with its headers through
	// Env.Client: each must answer 2xx.
	FetchPages bool
}

// foreign are links no site handler but a fallback may take: other hosts,
// with paths shaped like the known sites' links.
var foreign = []string{
	"https://example.org/",
	"https://example.org/chapter/a1b2c3d4-0000-4000-8000-00000000c001",
	"https://example.org/title/9f0c1c9e-6a9b-4d7e-8a51-0b1f2a3c4d5e",
	"https://example.org/en/fantasy/series/episode-1/viewer?title_no=1&episode_no=1",
	"https://example.org/en/fantasy/series/list?title_no=1",
	"https://example.org/manga/series/chapter-1/",
	"https://example.org/read/series/en/0/1/",
}

// Run runs the conformance checks as subtests of t.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if s.Handler == nil || s.Chapter == "" {
		t.Fatal("sitestest: Suite needs Handler and Chapter")
	}
	if s.Env.Client == nil {
		s.Env = Env()
	}
	t.Run("match", func(t *testing.T) {
		for _, raw := range append([]string{s.Chapter, s.Series}, s.Own...) {
			if raw != "" && !s.Handler.Match(parse(t, raw)) {
				t.Errorf("Match(%s) = false, want true", raw)
			}
		}
		for _, raw := range []string{"ftp://example.org/chapter/1", "mailto:reader@example.org"} {
			if u, err := url.Parse(raw); err == nil && s.Handler.Match(u) {
				t.Errorf("Match(%s) = true for a link that is not http(s)", raw)
			}
		}
		list := s.Foreign
		if !s.Fallback {
			list = append(append([]string(nil), foreign...), list...)
		}
		for _, raw := range list {
			if s.Handler.Match(parse(t, raw)) {
				t.Errorf("Match(%s) = true for a foreign link", raw)
			}
		}
	})
	t.Run("resolve", func(t *testing.T) {
		chs, err := resolve(context.Background(), t, s.Handler, s.Env, s.Chapter, "")
		if err != nil {
			t.Fatalf("Resolve(%s): %v", s.Chapter, err)
		}
		if len(chs) == 0 {
			t.Fatalf("Resolve(%s): no chapters, no error", s.Chapter)
		}
		for _, ch := range chs {
			pages := ch.Pages
			if len(pages) == 0 && ch.Refresh != nil {
				if pages, err = ch.Refresh(context.Background()); err != nil {
					t.Fatalf("chapter %s: Refresh: %v", ch.ID, err)
				}
			}
			if len(pages) == 0 {
				t.Fatalf("chapter %s: no pages and no error", ch.ID)
			}
			checkPages(t, s, pages)
		}
	})
	if s.NotFound != "" {
		t.Run("not-found", func(t *testing.T) {
			_, err := resolve(context.Background(), t, s.Handler, s.Env, s.NotFound, "")
			if !errors.Is(err, sites.ErrNotFound) {
				t.Fatalf("Resolve(%s) = %v, want an error wrapping sites.ErrNotFound", s.NotFound, err)
			}
			// Wrapped once: "chapter X: not found (HTTP 404)", never
			// "not found: ...: not found".
			if n := strings.Count(strings.ToLower(err.Error()), "not found"); n != 1 {
				t.Errorf("error says \"not found\" %d times: %q", n, err)
			}
		})
	}
	if s.Series != "" {
		t.Run("bad-selection", func(t *testing.T) {
			for _, sel := range []string{"abc", "5-1", "1-", "nan"} {
				_, err := resolve(context.Background(), t, s.Handler, s.Env, s.Series, sel)
				if !errors.Is(err, sites.ErrBadSelection) {
					t.Errorf("selection %q: %v, want sites.ErrBadSelection", sel, err)
				}
			}
		})
	}
	t.Run("cancel", func(t *testing.T) { checkCancel(t, s) })
	t.Run("no-client", func(t *testing.T) {
		// Without Env.Client a handler refuses to work: http.DefaultClient
		// has no address guard and no rate limits, and honours HTTP_PROXY.
		env := s.Env
		env.Client = nil
		for _, raw := range []string{s.Chapter, s.Series} {
			if raw == "" {
				continue
			}
			chs, err := resolve(context.Background(), t, s.Handler, env, raw, "")
			if err == nil || !strings.Contains(err.Error(), "no HTTP client") {
				t.Errorf("Resolve(%s) without a client: chapters %v, err %v; want a refusal", raw, chs, err)
			}
		}
		if sr, ok := s.Handler.(sites.Searcher); ok {
			if _, err := sr.Search(context.Background(), env, "library"); err == nil {
				t.Error("Search without a client: no error")
			}
		}
	})
}

// checkPages checks decoys and Referers, and fetches the pages when asked.
func checkPages(t *testing.T, s Suite, pages []download.Page) {
	t.Helper()
	for i, p := range pages {
		for _, d := range s.Decoys {
			if strings.Contains(p.URL, d) {
				t.Errorf("page %d is a decoy (%q): %s", i+1, d, p.URL)
			}
		}
		if s.Referer && p.Header.Get("Referer") == "" {
			t.Errorf("page %d has no Referer: %s", i+1, p.URL)
		}
		if !s.FetchPages {
			continue
		}
		req, err := http.NewRequest(http.MethodGet, p.URL, nil)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		for k, vs := range p.Header {
			req.Header[k] = vs
		}
		resp, err := s.Env.Client.Do(req)
		if err != nil {
			t.Errorf("page %d: %v", i+1, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Errorf("page %d: %s answered %s", i+1, p.URL, resp.Status)
		}
	}
}

// holdTransport never answers: it tells started of each request and
// waits for the request's context to end, like a server that hangs.
type holdTransport struct{ started chan<- struct{} }

func (h holdTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case h.started <- struct{}{}:
	default:
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// checkCancel: cancelling the context while the handler waits for an
// answer ends Resolve with the context's error.
func checkCancel(t *testing.T, s Suite) {
	started := make(chan struct{}, 1)
	env := s.Env
	env.Client = &http.Client{Transport: holdTransport{started}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := parse(t, s.Chapter)
	done := make(chan error, 1)
	go func() {
		_, err := s.Handler.Resolve(ctx, env, sites.Request{URL: u})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Resolve returned before any request: %v", err)
	}
	cancel()
	// A bound so that a handler that ignores ctx fails the test instead of
	// hanging it; it is not a speed measurement.
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Resolve after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Resolve still running 30s after its context was cancelled")
	}
}

func resolve(ctx context.Context, t *testing.T, h sites.Handler, env sites.Env, raw, chapters string) ([]*sites.Chapter, error) {
	return h.Resolve(ctx, env, sites.Request{URL: parse(t, raw), Chapters: chapters})
}

func parse(t *testing.T, raw string) *url.URL {
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatalf("sitestest: %v", err)
	}
	return u
}
