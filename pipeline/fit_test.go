package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/pagegen"
	"github.com/mangabot/mangabot/pipeline"
)

// episodeOfSlices serves one WEBTOON episode whose images are the
// strip's slices; slice fail (0-based) answers 404.
func episodeOfSlices(t *testing.T, strip pagegen.Webtoon, fail int) *httptest.Server {
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/en/fantasy/keeper/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><meta property="og:title" content="Ep. 1"></head><body><div class="subj_info"><a class="subj">Keeper</a><h1 class="subj_episode">Ep. 1</h1></div><div class="viewer_img _img_viewer_area" id="_imageList">`)
		for i := range strip.Slices() {
			fmt.Fprintf(w, `<img class="_images" data-url="%s/img/%d.jpg">`, srv.URL, i)
		}
		fmt.Fprint(w, `</div></body></html>`)
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/img/%d.jpg", &i); err != nil || i == fail || i >= strip.Slices() {
			http.NotFound(w, r)
			return
		}
		w.Write(pagegen.JPEG(strip.Slice(i), 90))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// A failed slice breaks the strip: the slices before and after it are
// stitched apart, the failed one keeps its place (a placeholder), and the
// stitched pages are gone from the work dir once the PDF is written.
func TestStripAroundFailedSlice(t *testing.T) {
	var gaps []pagegen.Gap
	for y := 500; y < 8000; y += 600 {
		gaps = append(gaps, pagegen.Gap{From: y, To: y + 20})
	}
	strip := pagegen.Webtoon{Width: 400, Height: 8000, SliceHeight: 1000, Gaps: gaps}
	srv := episodeOfSlices(t, strip, 3)
	env := newEnv(t, srv.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: srv.URL + "/en/fantasy/keeper/ep-1/viewer?title_no=7&episode_no=1", Strip: true})
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir(), WorkDir: work, KeepPages: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Failed) != 1 || out.Failed[0].Page != 4 || !strings.Contains(out.Failed[0].Reason, "404") {
		t.Errorf("failed pages %v, want slice 4 (404)", out.Failed)
	}
	// 3,000 rows before the failed slice and 4,000 after, cut at the
	// gaps (every 600 rows) nearest 640 rows (400 × 1.6): 5 + 7 pages,
	// give or take one each, plus the placeholder. Unstitched it would be
	// 8 pages.
	n := pages(t, out.Files[0])
	if n != out.Pages || n < 11 || n > 15 {
		t.Errorf("%d pages (reported %d)", n, out.Pages)
	}
	if got := list(t, work); len(got) != 1 || got[0] != "1" {
		t.Errorf("work dir holds %v, want only the chapter's downloads (no stitched pages)", got)
	}
}

func TestResolveRejectsUnknownFit(t *testing.T) {
	env := newEnv(t, "http://127.0.0.1:1")
	_, err := env.Resolve(context.Background(), pipeline.Request{URL: "http://127.0.0.1:1/x", Fit: "squeeze"})
	if err == nil || err.Error() != `unknown fit "squeeze" (use parts, link or shrink)` {
		t.Errorf("err = %v", err)
	}
}
