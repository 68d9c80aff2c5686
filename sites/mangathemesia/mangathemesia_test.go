package mangathemesia

import (
	"reflect"
	"testing"

	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func newSite(t *testing.T) *enginetest.Site {
	t.Helper()
	return enginetest.NewSite(t, Engine, map[string]enginetest.Route{
		"GET /infinite-level-up-chapter-124/": {File: "chapter.html"},
		"GET /infinite-level-up-chapter-3/":   {File: "chapter.html"},
		"GET /infinite-level-up-chapter-2-5/": {File: "chapter-dom.html"},
		"GET /infinite-level-up-chapter-2/":   {File: "chapter.html"},
		"GET /infinite-level-up-chapter-1/":   {File: "chapter.html"},
		"GET /series/infinite-level-up/":      {File: "series.html"},
	})
}

func TestConformance(t *testing.T) {
	s := newSite(t)
	s.Conformance(t, "/infinite-level-up-chapter-124/", "/series/infinite-level-up/", "/infinite-level-up-chapter-999/", "/decoy/", "/wp-content/")
}

func TestChapterPage(t *testing.T) {
	s := newSite(t)
	chs := s.Resolve(t, "/infinite-level-up-chapter-124/", "")
	if len(chs) != 1 || chs[0].Number != "124" || chs[0].Series != "Infinite Level Up" || chs[0].Site != Name {
		t.Fatalf("chapters %+v", chs)
	}
	if got := s.Fetch(t, chs, "/decoy/"); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("pages %v", got)
	}
	if n := s.CDN.Hits("/pages/ilu/124/"); n != 3 {
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
		if got := enginetest.Numbers(s.Resolve(t, "/series/infinite-level-up/", sel)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", sel, got, want)
		}
	}
	chs := s.Resolve(t, "/series/infinite-level-up/", "2.5,124")
	if got := s.Fetch(t, chs, "/decoy/"); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("pages %v", got)
	}
	if n := s.CDN.Hits("/pages/ilu/2.5/"); n != 2 {
		t.Errorf("chapter 2.5: CDN served %d pages, want 2", n)
	}
}

// A chapter link given with a chapter selection is read as its series
// (the link the chapter page gives to it).
func TestChapterLinkWithSelection(t *testing.T) {
	s := newSite(t)
	if got := enginetest.Numbers(s.Resolve(t, "/infinite-level-up-chapter-3/", "1,124")); !reflect.DeepEqual(got, []string{"1", "124"}) {
		t.Errorf("chapters %v, want %v", got, []string{"1", "124"})
	}
	if got := s.Resolve(t, "/infinite-level-up-chapter-3/", ""); len(got) != 1 {
		t.Errorf("without a selection: %d chapters, want the one", len(got))
	}
}
