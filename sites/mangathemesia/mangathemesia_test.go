package mangathemesia

import (
	"context"
	"reflect"
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

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{cdn: enginetest.NewCDN(t)}
	s.reader = enginetest.NewReader(t, s.cdn, map[string]enginetest.Route{
		"GET /infinite-level-up-chapter-124/": {File: "chapter.html"},
		"GET /infinite-level-up-chapter-3/":   {File: "chapter.html"},
		"GET /infinite-level-up-chapter-2-5/": {File: "chapter-dom.html"},
		"GET /infinite-level-up-chapter-2/":   {File: "chapter.html"},
		"GET /infinite-level-up-chapter-1/":   {File: "chapter.html"},
		"GET /series/infinite-level-up/":      {File: "series.html"},
	})
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
	if n := s.cdn.Hits("/decoy/"); n != 0 {
		t.Errorf("%d decoy images fetched", n)
	}
	return counts
}

func TestConformance(t *testing.T) {
	s := newSite(t)
	sitestest.Run(t, sitestest.Suite{
		Handler:    s.h,
		Env:        s.env,
		Chapter:    s.reader.URL + "/infinite-level-up-chapter-124/",
		Series:     s.reader.URL + "/series/infinite-level-up/",
		NotFound:   s.reader.URL + "/infinite-level-up-chapter-999/",
		Decoys:     []string{"/decoy/", "/wp-content/"},
		Referer:    true,
		FetchPages: true,
	})
}

func TestChapterPage(t *testing.T) {
	s := newSite(t)
	chs := s.resolve(t, "/infinite-level-up-chapter-124/", "")
	if len(chs) != 1 || chs[0].Number != "124" || chs[0].Series != "Infinite Level Up" || chs[0].Site != Name {
		t.Fatalf("chapters %+v", chs)
	}
	if got := s.fetch(t, chs); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("pages %v", got)
	}
	if n := s.cdn.Hits("/pages/ilu/124/"); n != 3 {
		t.Errorf("CDN served %d pages, want 3", n)
	}
}

func TestSeriesSelection(t *testing.T) {
	s := newSite(t)
	for sel, want := range map[string][]string{
		"1,124": {"1", "124"},
		"2.5":   {"2.5"},
		"2-3":   {"2", "2.5", "3"},
		"last":  {"124"},
	} {
		var got []string
		for _, c := range s.resolve(t, "/series/infinite-level-up/", sel) {
			got = append(got, c.Number)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", sel, got, want)
		}
	}
	chs := s.resolve(t, "/series/infinite-level-up/", "2.5,124")
	if got := s.fetch(t, chs); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("pages %v", got)
	}
	if n := s.cdn.Hits("/pages/ilu/2.5/"); n != 2 {
		t.Errorf("chapter 2.5: CDN served %d pages, want 2", n)
	}
}
