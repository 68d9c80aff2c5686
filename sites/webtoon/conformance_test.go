package webtoon_test

import (
	"testing"

	"github.com/mangabot/mangabot/sites/sitestest"
)

func TestConformance(t *testing.T) {
	s := newSite(t)
	sitestest.Run(t, sitestest.Suite{
		Handler:  s.handler(),
		Env:      testEnv(testFetcher()),
		Chapter:  viewerURL(s.srv.URL, 2),
		Series:   s.srv.URL + seriesPath + "/list?title_no=4321",
		Foreign:  []string{"https://www.webtoons.com.example.org" + seriesPath + "/list?title_no=4321"},
		NotFound: viewerURL(s.srv.URL, 99),
		// The viewer shows episode thumbnails and lazy-load placeholders.
		Decoys:     []string{"thumb_", "bg_transparency"},
		Referer:    true,
		FetchPages: true,
	})
}
