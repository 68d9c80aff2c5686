package mangadex_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/mangadex"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
)

func TestMangaDexList(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	info, _ := sites.Lookup("mangadex")
	o := info.Options().(*mangadex.Options)
	o.APIURL, o.ReportURL = api.URL, ""
	h, err := info.New(o)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := testEnv(t, h)
	lister := h.(sites.Lister)
	ctx := testCtx(t)
	req := sites.ListRequest{URL: mustURL(t, mdtest.TitleURL("https://mangadex.org"))}

	// Baseline: newest chapters, oldest first, downloadable ones only, in
	// the configured language, with the series title from the feed.
	l, err := lister.List(ctx, env, req)
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for _, c := range l.Chapters {
		nums = append(nums, c.Number)
		if c.Series != "The Library Beyond the Clouds" || c.Published.IsZero() || c.Pages != nil || c.Refresh != nil || !strings.HasPrefix(c.SourceURL, "https://mangadex.org/chapter/") {
			t.Errorf("chapter %+v", c)
		}
	}
	if got := strings.Join(nums, ","); got != "1,2,2,3,5" {
		t.Errorf("baseline numbers %s, want 1,2,2,3,5 (external 4 and 6 left out)", got)
	}
	if n := api.Hits("/manga/"); n != 2 {
		t.Errorf("baseline made %d requests, want 2 (title and feed)", n)
	}

	// A later round asks since the last publish time: one request, only
	// what came at or after it.
	last := l.Chapters[len(l.Chapters)-1].Published
	id := api.Add("7", last.Add(time.Hour))
	req.Since = last
	l, err = lister.List(ctx, env, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Chapters) != 2 || l.Chapters[1].ID != id || l.Chapters[1].Number != "7" || l.Chapters[1].Series != "" {
		t.Fatalf("since %v: %+v", last, l.Chapters)
	}
	if n := api.Hits("/manga/"); n != 3 {
		t.Errorf("%d requests after two rounds, want 3 (one for the second)", n)
	}

	// A French follow sees only French chapters.
	req.Since, req.Language = time.Time{}, "fr"
	if l, err = lister.List(ctx, env, req); err != nil || len(l.Chapters) != 2 || l.Chapters[0].Language != "fr" {
		t.Fatalf("fr: %v %+v", err, l)
	}

	// A chapter link cannot be followed; a missing title is not found.
	_, err = lister.List(ctx, env, sites.ListRequest{URL: mustURL(t, "https://mangadex.org/chapter/"+chapterID)})
	if !errors.Is(err, sites.ErrUnsupported) {
		t.Errorf("chapter link: %v", err)
	}
	_, err = lister.List(ctx, env, sites.ListRequest{URL: mustURL(t, "https://mangadex.org/title/00000000-0000-4000-8000-000000000000")})
	if !errors.Is(err, sites.ErrNotFound) {
		t.Errorf("missing title: %v", err)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
