package foolslide

import (
	"reflect"
	"testing"

	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestList(t *testing.T) {
	for _, adult := range []bool{false, true} {
		s := newSite(t, adult)
		l := s.List(t, "/slide/series/lonely_knight/")
		if got, want := enginetest.Numbers(l.Chapters), []string{"1", "2", "2.5", "3", "10"}; l.Series != "Lonely Knight" || !reflect.DeepEqual(got, want) {
			t.Errorf("adult %v: series %q, chapters %v, want %v", adult, l.Series, got, want)
		}
	}
}
