package madara

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

// newSite serves the fixtures; ajax picks how the series' chapter list
// answers: "inline" (in the page), "new" (POST <series>/ajax/chapters/),
// "old" (that answers 400; admin-ajax.php answers).
func newSite(t *testing.T, ajax string) *enginetest.Site {
	t.Helper()
	routes := map[string]enginetest.Route{
		"GET /manga/solo-hero/chapter-10/":  {File: "chapter.html"},
		"GET /manga/solo-hero/chapter-2-5/": {File: "chapter.html"},
		"GET /manga/solo-hero/chapter-2/":   {File: "chapter.html"},
		"GET /manga/solo-hero/chapter-1/":   {File: "chapter.html"},
		"GET /manga/solo-hero/":             {File: "series-inline.html"},
	}
	switch ajax {
	case "new":
		routes["GET /manga/solo-hero/"] = enginetest.Route{File: "series-ajax.html"}
		routes["POST /manga/solo-hero/ajax/chapters/"] = enginetest.Route{File: "ajax-chapters.html"}
		// As on a live site in 2026: the older endpoint answers "0".
		routes["POST /wp-admin/admin-ajax.php"] = enginetest.Route{Body: "0"}
	case "old":
		routes["GET /manga/solo-hero/"] = enginetest.Route{File: "series-ajax.html"}
		routes["POST /manga/solo-hero/ajax/chapters/"] = enginetest.Route{Status: 400, Body: "0"}
		routes["POST /wp-admin/admin-ajax.php"] = enginetest.Route{File: "ajax-chapters.html", Form: url.Values{"action": {"manga_get_chapters"}, "manga": {"1841"}}}
	}
	return enginetest.NewSite(t, Engine, routes)
}

func TestConformance(t *testing.T) {
	s := newSite(t, "inline")
	s.Conformance(t, "/manga/solo-hero/chapter-10/", "/manga/solo-hero/", "/manga/solo-hero/chapter-99/", "/decoy/", "/wp-content/")
}

func TestChapterPage(t *testing.T) {
	s := newSite(t, "inline")
	chs := s.Resolve(t, "/manga/solo-hero/chapter-10/", "")
	if len(chs) != 1 {
		t.Fatalf("%d chapters", len(chs))
	}
	c := chs[0]
	if c.Site != Name || c.Series != "Solo Hero" || c.Number != "10" || c.SourceURL != s.Reader.URL+"/manga/solo-hero/chapter-10/" {
		t.Errorf("chapter %+v", c)
	}
	if got := s.Fetch(t, chs, "/decoy/"); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("pages %v", got)
	}
	if n := s.CDN.Hits("/pages/solo-hero/10/"); n != 3 {
		t.Errorf("CDN served %d pages, want 3", n)
	}
	if ref := c.Pages[0].Header.Get("Referer"); ref != c.SourceURL {
		t.Errorf("Referer %q, want the reader page %q", ref, c.SourceURL)
	}
}

func TestSeriesSelection(t *testing.T) {
	for _, ajax := range []string{"inline", "new", "old"} {
		t.Run(ajax, func(t *testing.T) {
			s := newSite(t, ajax)
			for sel, want := range map[string][]string{
				"1,10":  {"1", "10"},
				"2.5":   {"2.5"},
				"2-3":   {"2", "2.5"},
				"last":  {"10"},
				"":      {"1", "2", "2.5", "10"},
				"1-2.5": {"1", "2", "2.5"},
			} {
				chs := s.Resolve(t, "/manga/solo-hero/", sel)
				if got := enginetest.Numbers(chs); !reflect.DeepEqual(got, want) {
					t.Errorf("%q: chapters %v, want %v", sel, got, want)
				}
				for _, c := range chs {
					if c.Series != "Solo Hero" || len(c.Pages) != 3 || c.Refresh == nil {
						t.Errorf("%q: chapter %s: series %q, %d pages, refresh %v", sel, c.Number, c.Series, len(c.Pages), c.Refresh != nil)
					}
				}
			}
			chs := s.Resolve(t, "/manga/solo-hero/", "1,10")
			if got := s.Fetch(t, chs, "/decoy/"); !reflect.DeepEqual(got, []int{3, 3}) {
				t.Errorf("pages %v", got)
			}
			if chs[1].Title != "The End" {
				t.Errorf("chapter 10 title %q", chs[1].Title)
			}
			var posts []string
			for _, r := range s.Reader.Requests() {
				if strings.HasPrefix(r, "POST ") {
					posts = append(posts, r)
				}
			}
			switch ajax {
			case "inline":
				if len(posts) != 0 {
					t.Errorf("inline list, yet %v", posts)
				}
			case "old":
				if !contains(posts, "POST /wp-admin/admin-ajax.php") {
					t.Errorf("no admin-ajax.php fallback: %v", posts)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSeriesWithoutChapterList(t *testing.T) {
	s := enginetest.NewSite(t, Engine, map[string]enginetest.Route{
		"GET /manga/solo-hero/":                {File: "series-ajax.html"},
		"POST /manga/solo-hero/ajax/chapters/": {Status: 400, Body: "0"},
		"POST /wp-admin/admin-ajax.php":        {Body: "0"},
	})
	_, err := s.TryResolve("/manga/solo-hero/", "1")
	if err == nil || !strings.Contains(err.Error(), "chapter list") || !strings.Contains(err.Error(), "admin-ajax.php") {
		t.Errorf("err %v, want one naming both chapter-list requests", err)
	}
}

func TestPinnedHosts(t *testing.T) {
	for _, bad := range [][]string{{"https://reader.example"}, {"reader.example:8080"}, {""}, {"a.example", "A.example"}, {"*.example"}} {
		if _, err := engine.NewHandler(Engine, &engine.Options{Hosts: bad}); err == nil {
			t.Errorf("hosts %q accepted", bad)
		}
	}
	h, err := engine.NewHandler(Engine, &engine.Options{Hosts: []string{"Reader.Example"}})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://reader.example/manga/x/":     true,
		"http://reader.example:8080/manga/x/": true,
		"https://other.example/manga/x/":      false,
		"ftp://reader.example/manga/x/":       false,
	} {
		u, _ := url.Parse(raw)
		if got := h.Match(u); got != want {
			t.Errorf("Match(%s) = %v", raw, got)
		}
	}
}

// A chapter link given with a chapter selection is read as its series
// (the link the chapter page gives to it).
func TestChapterLinkWithSelection(t *testing.T) {
	s := newSite(t, "inline")
	if got := enginetest.Numbers(s.Resolve(t, "/manga/solo-hero/chapter-2/", "1,10")); !reflect.DeepEqual(got, []string{"1", "10"}) {
		t.Errorf("chapters %v, want %v", got, []string{"1", "10"})
	}
	if got := s.Resolve(t, "/manga/solo-hero/chapter-2/", ""); len(got) != 1 {
		t.Errorf("without a selection: %d chapters, want the one", len(got))
	}
}

// The paged reader without its preloaded list shows one image: the list
// view (?style=list) is loaded for the whole chapter, and is the pages'
// Referer.
func TestPagedReaderLoadsListView(t *testing.T) {
	s := enginetest.NewSite(t, Engine, map[string]enginetest.Route{
		"GET /manga/solo-hero/chapter-2/":            {File: "chapter-paged.html", Replace: []string{"var chapter_preloaded_images =", "var unrelated ="}},
		"GET /manga/solo-hero/chapter-2/?style=list": {File: "chapter.html"},
	})
	chs := s.Resolve(t, "/manga/solo-hero/chapter-2/", "")
	if len(chs) != 1 || len(chs[0].Pages) != 3 {
		t.Fatalf("chapters %+v", chs)
	}
	if ref := chs[0].Pages[0].Header.Get("Referer"); ref != s.Reader.URL+"/manga/solo-hero/chapter-2/?style=list" {
		t.Errorf("Referer %q, want the list view", ref)
	}
	if chs[0].SourceURL != s.Reader.URL+"/manga/solo-hero/chapter-2/" {
		t.Errorf("SourceURL %q", chs[0].SourceURL)
	}
	if got := s.Fetch(t, chs, "/decoy/"); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("pages %v", got)
	}
}
