package madara

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestList(t *testing.T) {
	for _, ajax := range []string{"inline", "new", "old"} {
		s := newSite(t, ajax)
		l := s.List(t, "/manga/solo-hero/")
		if got, want := enginetest.Numbers(l.Chapters), []string{"1", "2", "2.5", "10"}; l.Series != "Solo Hero" || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: series %q, chapters %v, want %v", ajax, l.Series, got, want)
		}
		if l.Chapters[3].SourceURL != s.Reader.URL+"/manga/solo-hero/chapter-10/" || l.Chapters[3].Site != Name {
			t.Errorf("%s: last %+v", ajax, l.Chapters[3])
		}
	}
}

func TestListRefusesAChapter(t *testing.T) {
	s := newSite(t, "inline")
	u, _ := sites.ParseURL(s.Reader.URL + "/manga/solo-hero/chapter-2/")
	_, err := s.Handler.(sites.Lister).List(context.Background(), s.Env, sites.ListRequest{URL: u})
	if !errors.Is(err, sites.ErrUnsupported) || !strings.Contains(err.Error(), "follow the series' page") {
		t.Errorf("chapter link: %v", err)
	}
}
