package sites_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites"
)

// Without Env.Client a handler refuses to work: http.DefaultClient has no
// address guard and no rate limits, and honours HTTP_PROXY. No request may
// leave.
func TestNilClientRefused(t *testing.T) {
	api := newMDAPI(t)
	api.atHomeBases = []string{"https://uploads.mangadex.org"}
	md := newMD(t, api, "", nil)
	wt := newWTSite(t)
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	env := sites.Env{UserAgent: testUA, MaxChapters: 10}

	for _, tc := range []struct {
		name string
		h    sites.Handler
		url  string
	}{
		{"mangadex chapter", md, "https://mangadex.org/chapter/" + mdChapter},
		{"mangadex title", md, "https://mangadex.org/title/" + mdManga},
		{"webtoon episode", wt.handler(), wtViewerURL(wt.srv.URL, 1)},
		{"webtoon list", wt.handler(), wt.srv.URL + wtSeriesPath + "/list?title_no=4321"},
		{"generic", newGeneric(t, nil), fs.URL + pagePath},
	} {
		u, err := sites.ParseURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		chs, err := tc.h.Resolve(context.Background(), env, sites.Request{URL: u})
		if err == nil || !strings.Contains(err.Error(), "no HTTP client") {
			t.Errorf("%s: chapters %v, err %v; want a refusal for the missing client", tc.name, chs, err)
		}
	}
	if _, err := md.(sites.Searcher).Search(context.Background(), env, "library"); err == nil {
		t.Error("mangadex search without a client: no error")
	}

	if hits := api.rec.all(); len(hits) != 0 {
		t.Errorf("MangaDex API got %d requests", len(hits))
	}
	wt.mu.Lock()
	if len(wt.listTimes) != 0 || len(wt.viewers) != 0 {
		t.Errorf("WEBTOON got list requests %d, viewers %v", len(wt.listTimes), wt.viewers)
	}
	wt.mu.Unlock()
	if n := fs.hitCount(pagePath); n != 0 {
		t.Errorf("generic page requested %d times", n)
	}
}
