package webtoon_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mangabot/mangabot/sites"
)

func TestWebtoonList(t *testing.T) {
	s := newSite(t)
	h := s.handler().(sites.Lister)
	env := testEnv(testFetcher())
	u, _ := sites.ParseURL(s.srv.URL + seriesPath + "/list?title_no=4321")
	l, err := h.List(t.Context(), env, sites.ListRequest{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if l.Series != "The Lighthouse Keeper" || len(l.Chapters) != 5 {
		t.Fatalf("series %q, %d chapters", l.Series, len(l.Chapters))
	}
	for i, c := range l.Chapters {
		no := i + 1
		if c.Key() != fmt.Sprintf("webtoon/4321/%d", no) || c.SourceURL != viewerURL(s.srv.URL, no) || c.Pages != nil || c.Title != episodeTitles[no] {
			t.Errorf("chapter %d: %+v", no, c)
		}
	}
	s.mu.Lock()
	viewers := len(s.viewers)
	s.mu.Unlock()
	if viewers != 0 {
		t.Errorf("listing opened %d episodes, want none", viewers)
	}
	u, _ = sites.ParseURL(viewerURL(s.srv.URL, 2))
	if _, err := h.List(t.Context(), env, sites.ListRequest{URL: u}); !errors.Is(err, sites.ErrUnsupported) {
		t.Errorf("episode link: %v", err)
	}
}
