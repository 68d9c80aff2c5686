package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	_ "github.com/mangabot/mangabot/sites/all"
)

// webtoonSite serves a three-episode series in WEBTOON's markup, with two
// pages per episode; the WEBTOON handler is pointed at it by base_url.
type webtoonSite struct {
	*httptest.Server
	images    atomic.Int64
	cancelAt  int64 // cancel the run after this many image requests
	cancel    context.CancelFunc
	blockFrom int64
}

func jpegPage(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*seed) | 0x10
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

func newWebtoon(t *testing.T) *webtoonSite {
	s := &webtoonSite{}
	mux := http.NewServeMux()
	mux.HandleFunc("/en/fantasy/keeper/list", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<html><head><meta property="og:title" content="Keeper"></head><body><div class="info"><h1 class="subj">Keeper</h1></div><ul id="_listUl">`)
		for ep := 3; ep >= 1; ep-- {
			fmt.Fprintf(&b, `<li class="_episodeItem" data-episode-no="%d"><a href="%s/en/fantasy/keeper/ep-%d/viewer?title_no=7&amp;episode_no=%d"><span class="subj"><span>Ep. %d</span></span><span class="tx">#%d</span></a></li>`, ep, s.URL, ep, ep, ep, ep)
		}
		b.WriteString(`</ul></body></html>`)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/en/fantasy/keeper/", func(w http.ResponseWriter, r *http.Request) {
		ep := r.URL.Query().Get("episode_no")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><head><meta property="og:title" content="Ep. %s"></head><body><div class="subj_info"><a class="subj">Keeper</a><h1 class="subj_episode">Ep. %s</h1></div><div class="viewer_img _img_viewer_area" id="_imageList">`, ep, ep)
		for p := 1; p <= 2; p++ {
			fmt.Fprintf(w, `<img src="https://webtoons-static.pstatic.net/image/bg_transparency.png" class="_images" data-url="%s/img/%s-%d.jpg">`, s.URL, ep, p)
		}
		fmt.Fprint(w, `</div></body></html>`)
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		n := s.images.Add(1)
		if s.cancel != nil && n == s.cancelAt {
			s.cancel()
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/img/"), ".jpg")
		ep, _ := strconv.Atoi(strings.Split(name, "-")[0])
		w.Write(jpegPage(ep + 1))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func newEnv(t *testing.T, baseURL string) *pipeline.Env {
	cfg, err := config.Parse(fmt.Sprintf(`
[download]
allow_networks = ["127.0.0.0/8"]
[sites.webtoon]
base_url = %q
`, baseURL))
	if err != nil {
		t.Fatal(err)
	}
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func pages(t *testing.T, path string) int {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("qpdf missing")
		}
		t.Skip("qpdf missing")
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	out, _ := exec.Command("qpdf", "--show-npages", path).Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func list(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestSeriesOneFilePerChapter(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "2-3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Chapters) != 2 || plan.Pages != 4 || plan.Site != "webtoon" {
		t.Fatalf("plan: %d chapters, %d pages, site %s", len(plan.Chapters), plan.Pages, plan.Site)
	}
	dir := t.TempDir()
	var last pipeline.Progress
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir, Progress: func(p pipeline.Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 2 || out.Pages != 4 {
		t.Fatalf("files %v, pages %d", out.Files, out.Pages)
	}
	for i, f := range out.Files {
		if !strings.Contains(filepath.Base(f), "Ch."+strconv.Itoa(i+2)) || pages(t, f) != 2 {
			t.Errorf("file %d: %s", i, f)
		}
	}
	if last.PagesDone != 4 || last.PagesTotal != 4 || last.Chapters != 2 {
		t.Errorf("final progress %+v", last)
	}
	if got := list(t, dir); len(got) != 2 {
		t.Errorf("dir should hold the two PDFs only: %v", got)
	}
}

func TestSeriesMerged(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "all", Merge: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || pages(t, out.Files[0]) != 6 {
		t.Fatalf("merge: %v", out.Files)
	}
	if !strings.Contains(filepath.Base(out.Files[0]), "Ch.1-3") {
		t.Errorf("merged name %s", out.Files[0])
	}
}

func TestCancelLeavesNothing(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "all"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.cancel, s.cancelAt = cancel, 4 // after the first chapter's PDF is written
	dir := t.TempDir()
	_, err = env.Run(ctx, plan, pipeline.RunOptions{Dir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := list(t, dir); len(got) != 0 {
		t.Errorf("cancelled run left %v", got)
	}
}

func TestUnwritableOutputDir(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "1"})
	if err != nil {
		t.Fatal(err)
	}
	// A regular file where the output directory's parent should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "out")
	_, err = env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir})
	if err == nil || err.Error() != "output directory "+dir+": not a directory" {
		t.Fatalf("want one line naming the output directory, got %v", err)
	}
	if n := s.images.Load(); n != 0 {
		t.Errorf("%d images fetched before the output directory was checked", n)
	}
}

func TestResolveErrors(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	for _, tc := range []struct {
		req  pipeline.Request
		want error
		text string
	}{
		{pipeline.Request{URL: "not a url"}, nil, "not a link"},
		{pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "x-y"}, sites.ErrBadSelection, "bad chapter selection"},
		{pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "9"}, sites.ErrNotFound, "no chapter matches"},
		{pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Quality: "ultra"}, nil, "unknown quality"},
	} {
		_, err := env.Resolve(context.Background(), tc.req)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%+v: got %v", tc.req, err)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		`One: Piece / Ch. 1?`:   "One_ Piece _ Ch. 1_",
		"  dots...  ":           "dots",
		"CON":                   "_CON",
		"nul.txt":               "_nul.txt",
		"tab\there\x00":         "tab here",
		"進撃の巨人 - Ch.1":          "進撃の巨人 - Ch.1",
		strings.Repeat("あ", 80): strings.Repeat("あ", 50),
	} {
		if got := pipeline.SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileName(t *testing.T) {
	c := &sites.Chapter{Series: "Keeper", Volume: "2", Number: "12", Title: "Low Tide"}
	if got := pipeline.FileName([]*sites.Chapter{c}, false); got != "Keeper - Vol.2 Ch.12 - Low Tide.pdf" {
		t.Errorf("got %q", got)
	}
	if got := pipeline.FileName([]*sites.Chapter{{Site: "generic", ID: "ab12"}}, false); got != "generic ab12.pdf" {
		t.Errorf("anonymous: %q", got)
	}
}

// A resumed run (same WorkDir after a crash) fetches only missing pages.
func TestWorkDirResume(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "1-2"})
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "job-1")
	// What a killed run left: chapter 1 complete, chapter 2 half done.
	for _, f := range []string{"1/page-0001.jpg", "1/page-0002.jpg", "2/page-0001.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(work, f)), 0o755)
		if err := os.WriteFile(filepath.Join(work, f), jpegPage(3), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir, WorkDir: work})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.images.Load(); got != 1 {
		t.Errorf("site saw %d image requests, want only the 1 missing page", got)
	}
	if len(out.Files) != 2 || pages(t, out.Files[0])+pages(t, out.Files[1]) != 4 {
		t.Errorf("files %v", out.Files)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work dir should be removed when the run ends: %v", err)
	}
}

// Env.Observe hears of each PDF written: two chapters, two files, two
// "pdf" observations.
func TestObservePDFBuild(t *testing.T) {
	s := newWebtoon(t)
	cfg, err := config.Parse(fmt.Sprintf("[download]\nallow_networks = [\"127.0.0.0/8\"]\n[sites.webtoon]\nbase_url = %q\n", s.URL))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var stages []string
	env, err := pipeline.New(cfg, pipeline.Options{Observe: func(stage string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("stage %s took %v", stage, d)
		}
		stages = append(stages, stage)
	}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "2-3"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(out.Files) != 2 || len(stages) != 2 || stages[0] != "pdf" || stages[1] != "pdf" {
		t.Errorf("files %v, observed %v; want two pdf builds", out.Files, stages)
	}
}

// An explicit file gets every chapter; a second run never overwrites the
// first one's files.
func TestExplicitFileAndNoOverwrite(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	req := pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "1-3"}
	plan, err := env.Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "all.pdf")
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir, File: file})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || out.Files[0] != file || pages(t, file) != 6 {
		t.Fatalf("explicit file: %v", out.Files)
	}
	first, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	plan2, _ := env.Resolve(context.Background(), req)
	second, err := env.Run(context.Background(), plan2, pipeline.RunOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Files {
		if first.Files[i] == second.Files[i] {
			t.Errorf("second run overwrote %s", first.Files[i])
		}
		if !strings.HasSuffix(second.Files[i], " (2).pdf") {
			t.Errorf("second run name %s", second.Files[i])
		}
	}
	if got := len(list(t, dir)); got != 7 {
		t.Errorf("dir holds %d files, want 1 + 3 + 3", got)
	}
}

// With KeepPages a second build from the same work dir (e.g. smaller parts
// after Discord refused an upload) requests no page.
func TestKeepPagesRebuildsWithoutRequests(t *testing.T) {
	s := newWebtoon(t)
	env := newEnv(t, s.URL)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.URL + "/en/fantasy/keeper/list?title_no=7", Chapters: "1"})
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "job")
	if _, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir(), WorkDir: work, KeepPages: true}); err != nil {
		t.Fatal(err)
	}
	before := s.images.Load()
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir(), WorkDir: work, KeepPages: true})
	if err != nil || len(out.Files) != 1 {
		t.Fatalf("rebuild: %v %v", out, err)
	}
	if s.images.Load() != before {
		t.Errorf("rebuild fetched %d pages again", s.images.Load()-before)
	}
	if _, err := os.Stat(work); err != nil {
		t.Errorf("KeepPages removed the work dir: %v", err)
	}
}

// Network failures read as one short line, and the cause stays in the chain.
func TestResolveNetworkErrorIsFriendly(t *testing.T) {
	addr := refusedAddr(t) // nothing listens there
	env := newEnv(t, "https://www.webtoons.com")
	_, err := env.Resolve(context.Background(), pipeline.Request{URL: "http://" + addr + "/chapter"})
	if err == nil || err.Error() != "generic: cannot reach "+addr+": connection refused" {
		t.Fatalf("got %v", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Error("the network error should stay in the chain")
	}
}

// sizedJPEG is page i of a test chapter: its width (40+i) tells pages
// apart in the PDF's MediaBoxes.
func sizedJPEG(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40+i, 60))
	for k := range img.Pix {
		img.Pix[k] = uint8(k*(i+3)) | 0x10
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

// pageServer serves /c/P.jpg for chapter c, page P (JPEG of width 40+P;
// /c/missing.jpg is a 404), calling hold first: it may block a page.
func pageServer(t *testing.T, hold func(path string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hold(r.URL.Path)
		var p int
		if _, err := fmt.Sscanf(r.URL.Path[strings.LastIndex(r.URL.Path, "/"):], "/%d.jpg", &p); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(sizedJPEG(p))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// chapterPlan is a plan of the given chapters' page URLs, as a handler
// would resolve them.
func chapterPlan(urls ...[]string) *pipeline.Plan {
	p := &pipeline.Plan{Site: "test"}
	for c, us := range urls {
		ch := &sites.Chapter{Series: "Stream", Number: fmt.Sprint(c + 1)}
		for _, u := range us {
			ch.Pages = append(ch.Pages, download.Page{URL: u})
		}
		p.Chapters = append(p.Chapters, ch)
		p.Pages += len(us)
	}
	return p
}

// widths are the MediaBox widths of the PDF's pages, in order (pdfinfo).
func widths(t *testing.T, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdfinfo missing")
		}
		t.Skip("pdfinfo missing")
	}
	out, err := exec.Command("pdfinfo", "-f", "1", "-l", "1000", path).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	var ws []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Page") && strings.Contains(l, "size:") {
			f := strings.Fields(l[strings.Index(l, "size:")+5:])
			ws = append(ws, f[0])
		}
	}
	return ws
}

// tempOutput is the size of the run's temp output file under dir (it sits
// in the run's work folder), -1 if none.
func tempOutput(dir string) int64 {
	size := int64(-1)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".tmp-") {
			if st, err := d.Info(); err == nil {
				size = st.Size()
			}
		}
		return nil
	})
	return size
}

// TestWriteWhileFetching: pages arriving out of order are written in
// reading order while the chapter is still downloading (the last page is
// answered only once the PDF being written holds the pages before it), and
// a failed page becomes its placeholder in its place.
func TestWriteWhileFetching(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	grew := make(chan struct{})
	srv := pageServer(t, func(path string) {
		switch path {
		case "/1/0.jpg":
			// Page 1 arrives after pages 2..7: the writer must wait for it.
			time.Sleep(50 * time.Millisecond)
		case fmt.Sprintf("/1/%d.jpg", n-1):
			// The last page waits for the writer: the temp PDF must hold
			// the earlier pages already (guarded: the test fails below).
			deadline := time.Now().Add(10 * time.Second)
			for tempOutput(dir) < 4<<10 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if tempOutput(dir) >= 4<<10 {
				close(grew)
			}
		}
	})
	var urls []string
	for i := range n {
		u := fmt.Sprintf("%s/1/%d.jpg", srv.URL, i)
		if i == 3 {
			u = srv.URL + "/1/missing.jpg"
		}
		urls = append(urls, u)
	}
	env := newEnv(t, srv.URL)
	env.PDF.Placeholders = true
	out, err := env.Run(context.Background(), chapterPlan(urls), pipeline.RunOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-grew:
	default:
		t.Fatal("the PDF was not being written before the last page arrived")
	}
	if len(out.Files) != 1 || len(out.Failed) != 1 || out.Failed[0].Page != 4 || out.Failed[0].Reason != "HTTP 404" {
		t.Fatalf("output %+v", out)
	}
	got := widths(t, out.Files[0])
	// 96 dpi: a page of 40+i pixels is (40+i)·0.75 points wide; the
	// placeholder takes the width of the page before it.
	want := []string{"30", "30.75", "31.5", "31.5", "33", "33.75", "34.5", "35.25"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("page widths %v, want %v (reading order, placeholder at 4)", got, want)
	}
	if pages(t, out.Files[0]) != n {
		t.Errorf("want %d pages", n)
	}
}

// TestChaptersShareWindow: chapter 2's page list is loaded and its pages
// requested while chapter 1's slow page is still in flight; each chapter still gets its own PDF,
// and progress shows one chapter at a time, in order.
func TestChaptersShareWindow(t *testing.T) {
	second := make(chan struct{})
	var once sync.Once
	srv := pageServer(t, func(path string) {
		if strings.HasPrefix(path, "/2/") {
			once.Do(func() { close(second) })
		}
		if path == "/1/0.jpg" {
			select {
			case <-second:
			case <-time.After(10 * time.Second):
			}
		}
	})
	var u1, u2 []string
	for i := range 3 {
		u1 = append(u1, fmt.Sprintf("%s/1/%d.jpg", srv.URL, i))
		u2 = append(u2, fmt.Sprintf("%s/2/%d.jpg", srv.URL, i))
	}
	env := newEnv(t, srv.URL)
	plan := chapterPlan(u1, u2)
	// Chapter 2's page list is lazy (as MangaDex's): it is loaded while
	// chapter 1 downloads, or its pages could not come before 1's tail.
	lazy := plan.Chapters[1]
	lazy.PageCount, lazy.Pages = len(lazy.Pages), nil
	lazy.Refresh = func(context.Context) ([]download.Page, error) {
		var l []download.Page
		for _, u := range u2 {
			l = append(l, download.Page{URL: u})
		}
		return l, nil
	}
	var mu sync.Mutex
	var last pipeline.Progress
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir(), Progress: func(p pipeline.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Chapter < last.Chapter || p.PagesDone < last.PagesDone {
			t.Errorf("progress went back: %+v after %+v", p, last)
		}
		if p.Chapter > 0 && p.Progress.Total != 3 {
			t.Errorf("chapter %d progress has total %d, want its own 3", p.Chapter, p.Progress.Total)
		}
		last = p
	}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-second:
	default:
		t.Fatal("chapter 2 never started")
	}
	if len(out.Files) != 2 || out.Pages != 6 {
		t.Fatalf("output %+v", out)
	}
	for _, f := range out.Files {
		if pages(t, f) != 3 {
			t.Errorf("%s: want 3 pages", f)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if last.Chapter != 2 || last.Progress.Done != 3 || last.PagesDone != 6 {
		t.Errorf("last progress %+v: want chapter 2 with its 3 pages, 6 in all", last)
	}
}

// TestCancelMidWrite: cancelling while the PDF is half written leaves
// nothing in Dir.
func TestCancelMidWrite(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := pageServer(t, func(path string) {
		if path == "/1/5.jpg" {
			deadline := time.Now().Add(10 * time.Second)
			for tempOutput(dir) < 4<<10 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}
	})
	var urls []string
	for i := range 6 {
		urls = append(urls, fmt.Sprintf("%s/1/%d.jpg", srv.URL, i))
	}
	env := newEnv(t, srv.URL)
	_, err := env.Run(ctx, chapterPlan(urls), pipeline.RunOptions{Dir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := list(t, dir); len(got) != 0 {
		t.Errorf("cancelled run left %v", got)
	}
}
