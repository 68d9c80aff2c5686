package enginetest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/sitestest"
)

// Origins the unit tests parse fixtures with (nothing is fetched from
// them).
const (
	SiteOrigin = "https://reader.example"
	CDNOrigin  = "https://cdn.example"
)

// Parse parses the fixture name as the page at rawURL (doc.Url set), with
// {{SITE}} and {{CDN}} filled with SiteOrigin and CDNOrigin.
func Parse(t testing.TB, name, rawURL string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(Fixture(t, name, SiteOrigin, CDNOrigin))))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Url, err = url.Parse(rawURL); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Site is an engine's reader and CDN on loopback, with the engine's
// handler pinned to the reader's host.
type Site struct {
	CDN     *CDN
	Reader  *Reader
	Handler sites.Handler
	Env     sites.Env
	Fetcher *download.Fetcher
}

// NewSite serves routes for eng.
func NewSite(t testing.TB, eng engine.Engine, routes map[string]Route) *Site {
	t.Helper()
	s := &Site{CDN: NewCDN(t)}
	s.Reader = NewReader(t, s.CDN, routes)
	h, err := engine.NewHandler(eng, &engine.Options{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Handler = h
	s.Env, s.Fetcher = Env()
	return s
}

// Resolve resolves the reader's path with a chapter selection.
func (s *Site) Resolve(t testing.TB, path, chapters string) []*sites.Chapter {
	t.Helper()
	chs, err := s.TryResolve(path, chapters)
	if err != nil {
		t.Fatalf("Resolve(%s, %q): %v", path, chapters, err)
	}
	return chs
}

// TryResolve is Resolve that returns the error.
func (s *Site) TryResolve(path, chapters string) ([]*sites.Chapter, error) {
	u, err := sites.ParseURL(s.Reader.URL + path)
	if err != nil {
		return nil, err
	}
	return s.Handler.Resolve(context.Background(), s.Env, sites.Request{URL: u, Chapters: chapters})
}

// Fetch downloads every page of chs with their headers through the
// process's fetcher and returns the page count of each chapter. It fails
// the test when a page fails, when the CDN refused a request for its
// Referer, or when an image under one of the decoy path prefixes was
// fetched.
func (s *Site) Fetch(t testing.TB, chs []*sites.Chapter, decoys ...string) []int {
	t.Helper()
	var counts []int
	for _, ch := range chs {
		res, err := s.Fetcher.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: t.TempDir()})
		if err != nil || res.Failed > 0 {
			t.Fatalf("chapter %s: fetch: %v (%+v)", ch.Number, err, res)
		}
		counts = append(counts, len(ch.Pages))
	}
	if r := s.CDN.Refused(); len(r) > 0 {
		t.Errorf("the CDN refused %v", r)
	}
	for _, d := range decoys {
		if n := s.CDN.Hits(d); n != 0 {
			t.Errorf("%d decoy images fetched under %s", n, d)
		}
	}
	return counts
}

// Conformance runs the sites conformance suite on the site: chapter,
// series and notFound are paths on the reader; every page must carry a
// Referer, be fetched through the CDN's Referer check, and contain none of
// decoys.
func (s *Site) Conformance(t *testing.T, chapter, series, notFound string, decoys ...string) {
	t.Helper()
	sitestest.Run(t, sitestest.Suite{
		Handler:    s.Handler,
		Env:        s.Env,
		Chapter:    s.Reader.URL + chapter,
		Series:     s.Reader.URL + series,
		NotFound:   s.Reader.URL + notFound,
		Decoys:     decoys,
		Referer:    true,
		FetchPages: true,
	})
}

// Numbers lists the chapters' numbers.
func Numbers(chs []*sites.Chapter) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.Number)
	}
	return out
}

// List lists the series at the reader's path through the handler's
// sites.Lister and fails the test when it errs or when the listing opened
// a page other than the series page and its chapter-list requests (a
// listing opens no chapter) or fetched an image.
func (s *Site) List(t testing.TB, path string) *sites.Listing {
	t.Helper()
	u, err := sites.ParseURL(s.Reader.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	before := len(s.Reader.Requests())
	cdn := s.CDN.Hits("/")
	l, err := s.Handler.(sites.Lister).List(context.Background(), s.Env, sites.ListRequest{URL: u})
	if err != nil {
		t.Fatalf("List(%s): %v", path, err)
	}
	for _, r := range s.Reader.Requests()[before:] {
		if _, p, _ := strings.Cut(r, " "); !strings.HasPrefix(p, path) && !strings.Contains(p, "ajax") {
			t.Errorf("listing requested %s", r)
		}
	}
	if n := s.CDN.Hits("/") - cdn; n != 0 {
		t.Errorf("listing fetched %d images", n)
	}
	for _, c := range l.Chapters {
		if c.Pages != nil || c.Refresh != nil || c.SourceURL == "" || c.ID == "" || c.Series != l.Series {
			t.Errorf("listed chapter %+v", c)
		}
	}
	return l
}
