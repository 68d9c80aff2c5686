package webtoon_test

import (
	"testing"

	"github.com/mangabot/mangabot/sites/sitestest"
)

func TestConformance(t *testing.T) {
	s := newWTSite(t)
	sitestest.Run(t, sitestest.Suite{
		Handler:  s.handler(),
		Env:      wtEnv(wtFetcher()),
		Chapter:  wtViewerURL(s.srv.URL, 2),
		Series:   s.srv.URL + wtSeriesPath + "/list?title_no=4321",
		Foreign:  []string{"https://www.webtoons.com.example.org" + wtSeriesPath + "/list?title_no=4321"},
		NotFound: wtViewerURL(s.srv.URL, 99),
		// The viewer shows episode thumbnails and lazy-load placeholders.
		Decoys:     []string{"thumb_", "bg_transparency"},
		Referer:    true,
		FetchPages: true,
	})
}
