package mangadex_test

import (
	"testing"

	"github.com/mangabot/mangabot/sites/sitestest"
)

func TestConformance(t *testing.T) {
	api := newFakeAPI(t)
	node := newFakeNode(t, "MISS")
	api.atHomeBases = []string{node.URL}
	h := newTestHandler(t, api, "", nil)
	env, _ := testEnv(t, h)
	sitestest.Run(t, sitestest.Suite{
		Handler:  h,
		Env:      env,
		Chapter:  "https://mangadex.org/chapter/" + chapterID,
		Series:   "https://mangadex.org/title/" + mangaID,
		Own:      []string{"https://www.mangadex.org/title/" + mangaID + "/the-library", "https://mangadex.org/chapter/" + chapterID + "/1"},
		Foreign:  []string{"https://mangadex.org.example.org/chapter/" + chapterID, "https://notmangadex.org/title/" + mangaID},
		NotFound: "https://mangadex.org/chapter/a1b2c3d4-0000-4000-8000-0000000000ff",
		// Pages come from the API's at-home answer: no decoys, no Referer.
		FetchPages: true,
	})
}
