package all_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	_ "github.com/mangabot/mangabot/sites/all"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

// An unknown host is recognised by its first page: the generic handler
// hands the page to its engine, and the host's next links go to the engine
// directly. Each engine's site is a fresh loopback server (host:port), so
// none is known beforehand.
func TestEnginesDetectedFromThePage(t *testing.T) {
	set, err := sites.NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	env, f := enginetest.Env()
	for _, tc := range []struct {
		engine          string
		routes          map[string]enginetest.Route
		chapter, series string
		sel             string
		want            []string // chapter numbers the selection picks
		pages           int      // pages of the first chapter link
	}{
		{
			engine: "madara",
			routes: map[string]enginetest.Route{
				"GET /manga/solo-hero/chapter-10/":     {File: "../madara/testdata/chapter.html"},
				"GET /manga/solo-hero/chapter-1/":      {File: "../madara/testdata/chapter.html"},
				"GET /manga/solo-hero/":                {File: "../madara/testdata/series-ajax.html"},
				"POST /manga/solo-hero/ajax/chapters/": {File: "../madara/testdata/ajax-chapters.html"},
			},
			chapter: "/manga/solo-hero/chapter-10/", series: "/manga/solo-hero/",
			sel: "1,10", want: []string{"1", "10"}, pages: 3,
		},
		{
			engine: "mangathemesia",
			routes: map[string]enginetest.Route{
				"GET /infinite-level-up-chapter-124/": {File: "../mangathemesia/testdata/chapter.html"},
				"GET /infinite-level-up-chapter-2-5/": {File: "../mangathemesia/testdata/chapter-dom.html"},
				"GET /series/infinite-level-up/":      {File: "../mangathemesia/testdata/series.html"},
			},
			chapter: "/infinite-level-up-chapter-124/", series: "/series/infinite-level-up/",
			sel: "2.5,124", want: []string{"2.5", "124"}, pages: 3,
		},
		{
			engine: "foolslide",
			routes: map[string]enginetest.Route{
				"GET /slide/read/lonely_knight/en/2/10/": {File: "../foolslide/testdata/read.html"},
				"GET /slide/read/lonely_knight/en/1/1/":  {File: "../foolslide/testdata/read.html"},
				"GET /slide/series/lonely_knight/":       {File: "../foolslide/testdata/series.html"},
			},
			chapter: "/slide/read/lonely_knight/en/2/10/", series: "/slide/series/lonely_knight/",
			sel: "1,10", want: []string{"1", "10"}, pages: 3,
		},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			cdn := enginetest.NewCDN(t)
			rd := enginetest.NewReader(t, cdn, tc.routes)
			resolve := func(path, sel string) (string, []*sites.Chapter) {
				t.Helper()
				u, err := sites.ParseURL(rd.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				name, h, err := set.Match(u)
				if err != nil {
					t.Fatal(err)
				}
				chs, err := h.Resolve(context.Background(), env, sites.Request{URL: u, Chapters: sel})
				if err != nil {
					t.Fatalf("%s (%s): %v", path, name, err)
				}
				return name, chs
			}
			name, chs := resolve(tc.chapter, "")
			if name != "generic" {
				t.Errorf("first link went to %q, want the generic handler (the host is not known yet)", name)
			}
			if len(chs) != 1 || chs[0].Site != tc.engine || len(chs[0].Pages) != tc.pages {
				t.Fatalf("chapter link: %d chapters, site %q", len(chs), chs[0].Site)
			}
			name, chs = resolve(tc.series, tc.sel)
			if name != tc.engine {
				t.Errorf("second link went to %q, want %q (remembered for the host)", name, tc.engine)
			}
			var got []string
			for _, c := range chs {
				got = append(got, c.Number)
				pages, err := c.Refresh(context.Background())
				if err != nil {
					t.Fatalf("chapter %s: %v", c.Number, err)
				}
				res, err := f.Fetch(context.Background(), download.Batch{Pages: pages, Dir: t.TempDir()})
				if err != nil || res.Failed > 0 {
					t.Fatalf("chapter %s: %v %+v", c.Number, err, res)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("selection %q: %v, want %v", tc.sel, got, tc.want)
			}
			if r := cdn.Refused(); len(r) > 0 {
				t.Errorf("CDN refused %v", r)
			}
			if n := cdn.Hits("/decoy/") + cdn.Hits("/slide/content/comics/lonely_knight_5a1b/thumb_"); n != 0 {
				t.Errorf("%d decoys fetched", n)
			}
		})
	}
}

// A theme's series page on a host never seen is listed through the generic
// handler by its engine, without opening a chapter.
func TestEnginesListedThroughGeneric(t *testing.T) {
	cdn := enginetest.NewCDN(t)
	rd := enginetest.NewReader(t, cdn, map[string]enginetest.Route{
		"GET /manga/solo-hero/":                {File: "../madara/testdata/series-ajax.html"},
		"POST /manga/solo-hero/ajax/chapters/": {File: "../madara/testdata/ajax-chapters.html"},
	})
	info, _ := sites.Lookup("generic")
	h, err := info.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := enginetest.Env()
	u, _ := sites.ParseURL(rd.URL + "/manga/solo-hero/")
	l, err := h.(sites.Lister).List(context.Background(), env, sites.ListRequest{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if l.Series != "Solo Hero" || len(l.Chapters) != 4 || l.Chapters[0].Site != "madara" || l.Chapters[3].Number != "10" {
		t.Errorf("listing %q %+v", l.Series, l.Chapters)
	}
	if got := rd.Requests(); len(got) != 2 {
		t.Errorf("requests %v, want the series page and its chapter list", got)
	}
}
