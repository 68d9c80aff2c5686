package mangadex_test

import (
	"testing"

	"github.com/mangabot/mangabot/sites/sitestest"
)

func TestConformance(t *testing.T) {
	api := newMDAPI(t)
	node := newMDNode(t, "MISS")
	api.atHomeBases = []string{node.URL}
	h := newMD(t, api, "", nil)
	env, _ := mdEnv(t, h)
	sitestest.Run(t, sitestest.Suite{
		Handler:  h,
		Env:      env,
		Chapter:  "https://mangadex.org/chapter/" + mdChapter,
		Series:   "https://mangadex.org/title/" + mdManga,
		Own:      []string{"https://www.mangadex.org/title/" + mdManga + "/the-library", "https://mangadex.org/chapter/" + mdChapter + "/1"},
		Foreign:  []string{"https://mangadex.org.example.org/chapter/" + mdChapter, "https://notmangadex.org/title/" + mdManga},
		NotFound: "https://mangadex.org/chapter/a1b2c3d4-0000-4000-8000-0000000000ff",
		// Pages come from the API's at-home answer: no decoys, no Referer.
		FetchPages: true,
	})
}
