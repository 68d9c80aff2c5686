package foolslide

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

var chapterPaths = []string{"1/1/", "1/2/", "1/2/5/", "1/3/", "2/10/"}

// newSite serves a FoOlSlide install under /slide/; adult puts the series
// behind the adult notice (every page answers it to GET, the real page to
// a POST of adult=true).
func newSite(t *testing.T, adult bool) *enginetest.Site {
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
	return enginetest.NewSite(t, Engine, routes)
}

// decoys: the thumbnails FoOlSlide lists beside each page.
const decoys = "/slide/content/comics/lonely_knight_5a1b/2_10_0_the_end_9c2e/thumb_"

func TestConformance(t *testing.T) {
	s := newSite(t, false)
	s.Conformance(t, "/slide/read/lonely_knight/en/2/10/page/2", "/slide/series/lonely_knight/", "/slide/read/lonely_knight/en/9/99/", "thumb_", "/themes/")
}

func TestChapterPage(t *testing.T) {
	for _, adult := range []bool{false, true} {
		s := newSite(t, adult)
		chs := s.Resolve(t, "/slide/read/lonely_knight/en/2/10/page/2", "")
		if len(chs) != 1 {
			t.Fatalf("%d chapters", len(chs))
		}
		c := chs[0]
		if c.Series != "Lonely Knight" || c.Number != "10" || c.Volume != "2" || c.Title != "The End" {
			t.Errorf("adult %v: chapter %+v", adult, c)
		}
		if got := s.Fetch(t, chs, decoys); !reflect.DeepEqual(got, []int{3}) {
			t.Errorf("adult %v: pages %v", adult, got)
		}
		if n := s.CDN.Hits("/slide/content/comics/lonely_knight_5a1b/2_10_0_the_end_9c2e/0"); n != 3 {
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
			if got := enginetest.Numbers(s.Resolve(t, "/slide/series/lonely_knight/", sel)); !reflect.DeepEqual(got, want) {
				t.Errorf("adult %v, %q: %v, want %v", adult, sel, got, want)
			}
		}
		chs := s.Resolve(t, "/slide/series/lonely_knight/", "2.5,10")
		if chs[0].Volume != "1" || chs[1].Volume != "2" {
			t.Errorf("volumes %q %q", chs[0].Volume, chs[1].Volume)
		}
		if got := s.Fetch(t, chs, decoys); !reflect.DeepEqual(got, []int{3, 3}) {
			t.Errorf("pages %v", got)
		}
		posts := 0
		for _, r := range s.Reader.Requests() {
			if strings.HasPrefix(r, "POST ") {
				posts++
			}
		}
		if adult != (posts > 0) {
			t.Errorf("adult %v: %d POSTs", adult, posts)
		}
	}
}

// A chapter link given with a chapter selection is read as its series
// (the link the chapter page gives to it).
func TestChapterLinkWithSelection(t *testing.T) {
	s := newSite(t, false)
	if got := enginetest.Numbers(s.Resolve(t, "/slide/read/lonely_knight/en/1/3/", "1,10")); !reflect.DeepEqual(got, []string{"1", "10"}) {
		t.Errorf("chapters %v, want %v", got, []string{"1", "10"})
	}
	if got := s.Resolve(t, "/slide/read/lonely_knight/en/1/3/", ""); len(got) != 1 {
		t.Errorf("without a selection: %d chapters, want the one", len(got))
	}
}
