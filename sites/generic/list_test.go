package generic_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
	_ "github.com/mangabot/mangabot/sites/madara"
)

// A theme's series page on a host never seen is listed by its engine; a
// gallery cannot be followed.
func TestListHandsSeriesToTheirEngine(t *testing.T) {
	cdn := enginetest.NewCDN(t)
	rd := enginetest.NewReader(t, cdn, map[string]enginetest.Route{
		"GET /manga/solo-hero/":                {File: "../madara/testdata/series-ajax.html"},
		"POST /manga/solo-hero/ajax/chapters/": {File: "../madara/testdata/ajax-chapters.html"},
		"GET /gallery":                         {Body: `<html><body><img src="/a.jpg"><img src="/b.jpg"></body></html>`},
	})
	info, _ := sites.Lookup("generic")
	h, err := info.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := enginetest.Env()
	list := func(path string) (*sites.Listing, error) {
		u, _ := sites.ParseURL(rd.URL + path)
		return h.(sites.Lister).List(context.Background(), env, sites.ListRequest{URL: u})
	}
	l, err := list("/manga/solo-hero/")
	if err != nil {
		t.Fatal(err)
	}
	if l.Series != "Solo Hero" || len(l.Chapters) != 4 || l.Chapters[0].Site != "madara" || l.Chapters[3].Number != "10" {
		t.Errorf("listing %q %+v", l.Series, l.Chapters)
	}
	_, err = list("/gallery")
	if !errors.Is(err, sites.ErrUnsupported) || !strings.Contains(err.Error(), "cannot be followed") {
		t.Errorf("gallery: %v", err)
	}
}
