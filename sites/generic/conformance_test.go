package generic_test

import (
	"testing"

	"github.com/mangabot/mangabot/sites/sitestest"
)

func TestConformance(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	fs.wantReferer = fs.URL + pagePath
	sitestest.Run(t, sitestest.Suite{
		Handler:  newTestHandler(t, nil),
		Env:      testEnv(),
		Chapter:  fs.URL + pagePath,
		Own:      []string{"https://reader.example.org/manga/x/chapter-1/"},
		Fallback: true,
		NotFound: fs.URL + "/manga/solo-hero/chapter-404/",
		// gallery.html surrounds the chapter with a logo, avatars, adverts,
		// a tracking pixel and lazy-load placeholders.
		Decoys:     []string{"logo", "avatars", "/ads/", "ads.example.test", "pixel", "discord-icon", "loading.gif", "placeholder"},
		Referer:    true,
		FetchPages: true,
	})
}
