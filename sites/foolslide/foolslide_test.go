package foolslide

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
	"github.com/mangabot/mangabot/sites/sitestest"
)

type site struct {
	cdn    *enginetest.CDN
	reader *enginetest.Reader
	h      sites.Handler
	env    sites.Env
	f      *download.Fetcher
}

var chapterPaths = []string{"1/1/", "1/2/", "1/2/5/", "1/3/", "2/10/"}

// newSite serves a FoOlSlide install under /slide/; adult puts the series
// behind the adult notice (every page answers it to GET, the real page to
// a POST of adult=true).
func newSite(t *testing.T, adult bool) *site {
	t.Helper()
	routes := map[string]enginetest.Route{}
	add := func(path, file string) {
		if adult {
			routes["GET "+path] = enginetest.Route{File: "adult.html"}
			routes["POST "+path] = enginetest.Route{File: file, Form: url.Values{"adult": {"true"}}}
			return
		}
		routes["GET "+path] = enginetest.Route{File: file}
	}
	add("/slide/series/lonely_knight/", "series.html")
	for _, p := range chapterPaths {
		add("/slide/read/lonely_knight/en/"+p, "read.html")
	}
	add("/slide/read/lonely_knight/en/2/10/page/2", "read.html")
	s := &site{cdn: enginetest.NewCDN(t)}
	s.reader = enginetest.NewReader(t, s.cdn, routes)
	h, err := engine.NewHandler(Engine, &engine.Options{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	s.env, s.f = enginetest.Env()
	return s
}

func (s *site) resolve(t *testing.T, path, chapters string) []*sites.Chapter {
	t.Helper()
	u, err := sites.ParseURL(s.reader.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	chs, err := s.h.Resolve(context.Background(), s.env, sites.Request{URL: u, Chapters: chapters})
	if err != nil {
		t.Fatalf("Resolve(%s, %q): %v", path, chapters, err)
	}
	return chs
}

func (s *site) fetch(t *testing.T, chs []*sites.Chapter) []int {
	t.Helper()
	var counts []int
	for _, ch := range chs {
		if len(ch.Pages) == 0 && ch.Refresh != nil {
			pages, err := ch.Refresh(context.Background())
			if err != nil {
				t.Fatalf("chapter %s: %v", ch.Number, err)
			}
			ch.Pages = pages
		}
		res, err := s.f.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: t.TempDir()})
		if err != nil || res.Failed > 0 {
			t.Fatalf("chapter %s: fetch: %v (%+v)", ch.Number, err, res)
		}
		counts = append(counts, len(ch.Pages))
	}
	if r := s.cdn.Refused(); len(r) > 0 {
		t.Errorf("the CDN refused %v", r)
	}
	if n := s.cdn.Hits("/decoy/") + s.cdn.Hits("/slide/content/comics/lonely_knight_5a1b/thumb_"); n != 0 {
		t.Errorf("%d decoy images fetched", n)
	}
	return counts
}

func TestConformance(t *testing.T) {
	s := newSite(t, false)
	sitestest.Run(t, sitestest.Suite{
		Handler:    s.h,
		Env:        s.env,
		Chapter:    s.reader.URL + "/slide/read/lonely_knight/en/2/10/page/2",
		Series:     s.reader.URL + "/slide/series/lonely_knight/",
		NotFound:   s.reader.URL + "/slide/read/lonely_knight/en/9/99/",
		Decoys:     []string{"thumb_", "/themes/"},
		Referer:    true,
		FetchPages: true,
	})
}

func TestChapterPage(t *testing.T) {
	for _, adult := range []bool{false, true} {
		s := newSite(t, adult)
		chs := s.resolve(t, "/slide/read/lonely_knight/en/2/10/page/2", "")
		if len(chs) != 1 {
			t.Fatalf("%d chapters", len(chs))
		}
		c := chs[0]
		if c.Series != "Lonely Knight" || c.Number != "10" || c.Volume != "2" || c.Title != "The End" {
			t.Errorf("adult %v: chapter %+v", adult, c)
		}
		if got := s.fetch(t, chs); !reflect.DeepEqual(got, []int{3}) {
			t.Errorf("adult %v: pages %v", adult, got)
		}
		if n := s.cdn.Hits("/slide/content/comics/lonely_knight_5a1b/2_10_0_the_end_9c2e/0"); n != 3 {
			t.Errorf("adult %v: CDN served %d pages, want 3", adult, n)
		}
	}
}

func TestSeriesSelection(t *testing.T) {
	for _, adult := range []bool{false, true} {
		s := newSite(t, adult)
		for sel, want := range map[string][]string{
			"1,10": {"1", "10"},
			"2.5":  {"2.5"},
			"2-3":  {"2", "2.5", "3"},
			"last": {"10"},
		} {
			var got []string
			for _, c := range s.resolve(t, "/slide/series/lonely_knight/", sel) {
				got = append(got, c.Number)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("adult %v, %q: %v, want %v", adult, sel, got, want)
			}
		}
		chs := s.resolve(t, "/slide/series/lonely_knight/", "2.5,10")
		if chs[0].Volume != "1" || chs[1].Volume != "2" {
			t.Errorf("volumes %q %q", chs[0].Volume, chs[1].Volume)
		}
		if got := s.fetch(t, chs); !reflect.DeepEqual(got, []int{3, 3}) {
			t.Errorf("pages %v", got)
		}
		posts := 0
		for _, r := range s.reader.Requests() {
			if strings.HasPrefix(r, "POST ") {
				posts++
			}
		}
		if adult != (posts > 0) {
			t.Errorf("adult %v: %d POSTs", adult, posts)
		}
	}
}
