package mangathemesia

import (
	"testing"

	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestList(t *testing.T) {
	s := newSite(t)
	l := s.List(t, "/series/infinite-level-up/")
	got := enginetest.Numbers(l.Chapters)
	if l.Series != "Infinite Level Up" || len(got) < 2 || got[len(got)-1] != "124" || got[0] != "1" {
		t.Errorf("series %q, chapters %v", l.Series, got)
	}
}
