package webtoon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/sitestest"
	"github.com/mangabot/mangabot/sites/webtoon"
)

// The fixtures in testdata/webtoon mirror www.webtoons.com: one series,
// "The Lighthouse Keeper" (title_no 4321, episodes 1-5, listed newest first
// over two list pages), and a series (title_no 77) whose pages use a
// layout the handler does not know.

const (
	seriesPath  = "/en/fantasy/the-lighthouse-keeper"
	testReferer = "https://www.webtoons.com/"
	testUA      = "mangabot-test/1.0"
)

var episodeTitles = map[int]string{
	1: "Ep. 1 - Landfall",
	2: "Ep. 2 - Low Tide",
	3: "Ep. 3 - The Lamp Room",
	4: "Ep. 4 - Fog Signal",
	5: "Ep. 5 - What the Sea Kept",
}

// fakeSite is a stand-in for www.webtoons.com (srv) and its image host
// webtoon-phinf.pstatic.net (img), both on 127.0.0.1 (newSiteImagesOn
// puts the image host on another address).
type fakeSite struct {
	t   *testing.T
	srv *httptest.Server
	img *httptest.Server

	viewer *template.Template

	listThrottle atomic.Int32 // answer this many list requests with 429 first
	retryAfter   string       // Retry-After sent with them
	retryUnix    bool         // send X-RateLimit-Retry-After (a Unix time 1-2 s ahead) instead

	mu        sync.Mutex
	listTimes []time.Time     // arrival of every list page request
	viewers   []int           // episode_no of every viewer page served
	images    map[string]int  // image path -> requests served
	refused   int             // image requests refused for a missing Referer
	retryAt   time.Time       // X-RateLimit-Retry-After of the last 429
	failImage map[string]bool // image paths answered with 500, every time
	failed    map[string]int  // image path -> 500s served
	imgTimes  []time.Time     // arrival of every image request, in order
}

// gapYear is a series (title_no 555) whose episode 2 was deleted: the
// site shows episode_no 1, 3, 4 as #1, #2, #3.
var gapYear = map[int]struct {
	shown int
	title string
}{
	1: {1, "Ep. 1 - Enrolment"},
	3: {2, "Ep. 2 - Exams"},
	4: {3, "Ep. 3 - Second Term"},
}

func newSite(t *testing.T) *fakeSite {
	t.Helper()
	return newSiteImagesOn(t, nil)
}

// newSiteImagesOn is newSite with the image host listening on imgLn
// (nil: 127.0.0.1, like the site).
func newSiteImagesOn(t *testing.T, imgLn net.Listener) *fakeSite {
	t.Helper()
	s := &fakeSite{t: t, images: map[string]int{}, failImage: map[string]bool{}, failed: map[string]int{}}
	s.viewer = template.Must(template.ParseFiles(filepath.Join("testdata", "viewer.html.tmpl")))

	s.img = httptest.NewUnstartedServer(http.HandlerFunc(s.serveImage))
	if imgLn != nil {
		s.img.Listener.Close()
		s.img.Listener = imgLn
	}
	s.img.Start()
	t.Cleanup(s.img.Close)

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+seriesPath+"/list", s.serveList)
	mux.HandleFunc("GET "+seriesPath+"/{episode}/viewer", s.serveViewer)
	mux.HandleFunc("GET /en/drama/moved-around/list", func(w http.ResponseWriter, r *http.Request) {
		s.serveFile(w, "list-changed.html")
	})
	mux.HandleFunc("GET /en/drama/moved-around/{episode}/viewer", func(w http.ResponseWriter, r *http.Request) {
		s.serveFile(w, "viewer-changed.html")
	})
	for ep, file := range map[string]string{"1": "viewer-motion.html", "2": "viewer-oz.html"} {
		mux.HandleFunc("GET /en/fantasy/motion-tales/episode-"+ep+"/viewer", func(w http.ResponseWriter, r *http.Request) {
			s.serveFile(w, file)
		})
	}
	mux.HandleFunc("GET /en/drama/gap-year/list", func(w http.ResponseWriter, r *http.Request) {
		if s.ageGate(w, r) {
			return
		}
		if r.URL.Query().Get("title_no") != "555" {
			http.NotFound(w, r)
			return
		}
		s.serveFile(w, "list-deleted.html")
	})
	mux.HandleFunc("GET /en/drama/gap-year/{episode}/viewer", s.serveGapYearViewer)
	mux.HandleFunc("GET /en/ageGate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><div class="age_gate"><h2>Please enter your birthday</h2></div></body></html>`)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// ageGate redirects like the real site when the consent cookies are missing.
func (s *fakeSite) ageGate(w http.ResponseWriter, r *http.Request) bool {
	c, err := r.Cookie("ageGatePass")
	if err == nil && c.Value == "true" {
		return false
	}
	http.Redirect(w, r, "/en/ageGate?nextUrl="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return true
}

func (s *fakeSite) serveFile(w http.ResponseWriter, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

func (s *fakeSite) serveList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.listTimes = append(s.listTimes, time.Now())
	s.mu.Unlock()
	if s.listThrottle.Add(-1) >= 0 {
		if s.retryUnix {
			ts := time.Unix(time.Now().Unix()+2, 0)
			s.mu.Lock()
			s.retryAt = ts
			s.mu.Unlock()
			w.Header().Set("X-RateLimit-Retry-After", strconv.FormatInt(ts.Unix(), 10))
		} else {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	if s.ageGate(w, r) {
		return
	}
	if r.URL.Query().Get("title_no") != "4321" {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Query().Get("page") {
	case "", "1":
		s.serveFile(w, "list-page1.html")
	case "2":
		s.serveFile(w, "list-page2.html")
	default:
		http.NotFound(w, r)
	}
}

func (s *fakeSite) serveViewer(w http.ResponseWriter, r *http.Request) {
	if s.ageGate(w, r) {
		return
	}
	no, err := strconv.Atoi(r.URL.Query().Get("episode_no"))
	title, ok := episodeTitles[no]
	if err != nil || !ok || r.URL.Query().Get("title_no") != "4321" || r.PathValue("episode") != fmt.Sprintf("episode-%d", no) {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.viewers = append(s.viewers, no)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = s.viewer.Execute(w, map[string]any{
		"No":        no,
		"Shown":     no,
		"Title":     title,
		"Slug":      fmt.Sprintf("episode-%d", no),
		"Prev":      max(no-1, 1),
		"Next":      min(no+1, len(episodeTitles)),
		"ImageHost": s.img.URL,
	})
	if err != nil {
		s.t.Errorf("viewer template: %v", err)
	}
}

func (s *fakeSite) serveGapYearViewer(w http.ResponseWriter, r *http.Request) {
	if s.ageGate(w, r) {
		return
	}
	no, err := strconv.Atoi(r.URL.Query().Get("episode_no"))
	ep, ok := gapYear[no]
	if err != nil || !ok || r.URL.Query().Get("title_no") != "555" || r.PathValue("episode") != fmt.Sprintf("episode-%d", no) {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.viewers = append(s.viewers, no)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = s.viewer.Execute(w, map[string]any{
		"No": no, "Shown": ep.shown, "Title": ep.title, "Slug": fmt.Sprintf("episode-%d", no),
		"Prev": no, "Next": no, "ImageHost": s.img.URL,
	})
	if err != nil {
		s.t.Errorf("viewer template: %v", err)
	}
}

// pageImage is the PNG the image host serves for path: a tall strip whose
// colour depends on the path, so files can be told apart.
func pageImage(path string) []byte {
	h := fnv.New32a()
	h.Write([]byte(path))
	v := h.Sum32()
	img := image.NewRGBA(image.Rect(0, 0, 8, 12))
	c := color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 255}
	for y := 0; y < 12; y++ {
		for x := 0; x < 8; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// serveImage refuses requests without the WEBTOON Referer, like
// webtoon-phinf.pstatic.net.
func (s *fakeSite) serveImage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.imgTimes = append(s.imgTimes, time.Now())
	s.mu.Unlock()
	if r.Header.Get("Referer") != testReferer {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	if s.failImage[r.URL.Path] {
		s.failed[r.URL.Path]++
		s.mu.Unlock()
		http.Error(w, "image server error", http.StatusInternalServerError)
		return
	}
	s.images[r.URL.Path]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	w.Write(pageImage(r.URL.Path))
}

// handler builds the registered "webtoon" handler with base_url pointing
// at the test site.
func (s *fakeSite) handler() sites.Handler {
	s.t.Helper()
	return s.handlerWith(nil)
}

// handlerWith is handler with more options set by edit.
func (s *fakeSite) handlerWith(edit func(*webtoon.Options)) sites.Handler {
	s.t.Helper()
	info, ok := sites.Lookup("webtoon")
	if !ok {
		s.t.Fatal(`"webtoon" is not registered`)
	}
	o := info.Options().(*webtoon.Options)
	o.BaseURL = s.srv.URL
	if edit != nil {
		edit(o)
	}
	h, err := info.New(o)
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

func testFetcher() *download.Fetcher {
	return sitestest.Fetcher(download.Options{UserAgent: testUA})
}

func testEnv(f *download.Fetcher) sites.Env {
	return sites.Env{Client: f.Client(), UserAgent: testUA, MaxChapters: 10}
}

func resolve(t *testing.T, h sites.Handler, env sites.Env, raw, chapters string) ([]*sites.Chapter, error) {
	t.Helper()
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Match(u) {
		t.Fatalf("Match(%s) = false", raw)
	}
	return h.Resolve(context.Background(), env, sites.Request{URL: u, Chapters: chapters})
}

func viewerURL(base string, no int) string {
	return fmt.Sprintf("%s%s/episode-%d/viewer?title_no=4321&episode_no=%d", base, seriesPath, no, no)
}

func wantPages(img string, no int) []string {
	var out []string
	for i := 1; i <= 4; i++ {
		out = append(out, fmt.Sprintf("%s/20240312_%d/ep%d_%03d.jpg?type=q90", img, no, no, i))
	}
	return out
}

func checkWTPages(t *testing.T, s *fakeSite, ch *sites.Chapter, no int) {
	t.Helper()
	want := wantPages(s.img.URL, no)
	if len(ch.Pages) != len(want) {
		t.Fatalf("episode %d: %d pages, want %d: %+v", no, len(ch.Pages), len(want), ch.Pages)
	}
	for i, p := range ch.Pages {
		if p.URL != want[i] {
			t.Errorf("episode %d page %d = %s, want %s", no, i, p.URL, want[i])
		}
		if strings.Contains(p.URL, "bg_transparency") {
			t.Errorf("page %d is the lazy-load placeholder: %s", i, p.URL)
		}
		if got := p.Header.Get("Referer"); got != testReferer {
			t.Errorf("page %d Referer = %q, want %q", i, got, testReferer)
		}
	}
}

func TestWebtoonEpisode(t *testing.T) {
	s := newSite(t)
	h := s.handler()
	f := testFetcher()
	raw := viewerURL(s.srv.URL, 3)
	chs, err := resolve(t, h, testEnv(f), raw, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 {
		t.Fatalf("%d chapters, want 1", len(chs))
	}
	ch := chs[0]
	checkWTPages(t, s, ch, 3)
	if ch.Site != "webtoon" || ch.ID != "4321/3" || ch.Number != "3" || ch.Language != "en" ||
		ch.Series != "The Lighthouse Keeper" || ch.Title != "Ep. 3 - The Lamp Room" || ch.SourceURL != raw {
		t.Errorf("metadata: %+v", ch)
	}
	if got, want := strings.Join(ch.Credits, "|"), "Mara Quill|Ivo Brandt|WEBTOON"; got != want {
		t.Errorf("Credits = %q, want %q", got, want)
	}

	// The image host refuses requests without the Referer ...
	resp, err := f.Client().Get(ch.Pages[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("image without Referer: HTTP %d, want 403", resp.StatusCode)
	}
	// ... and serves every page the handler returned, through the fetcher.
	dir := t.TempDir()
	res, err := f.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		for _, p := range res.Pages {
			if p.Err != nil {
				t.Errorf("page %d: %v", p.Index, p.Err)
			}
		}
		t.Fatalf("%d pages failed", res.Failed)
	}
	for i, p := range res.Pages {
		u, _ := url.Parse(ch.Pages[i].URL)
		got, err := os.ReadFile(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pageImage(u.Path)) {
			t.Errorf("page %d (%s): file %s does not hold its image", i, u.Path, p.Path)
		}
		if p.Type != "png" {
			t.Errorf("page %d type %q, want png", i, p.Type)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != 1 {
		t.Errorf("image host refused %d requests, want 1 (the one without Referer)", s.refused)
	}
	if len(s.images) != 4 {
		t.Errorf("image host served %v, want the 4 pages", s.images)
	}
}

func TestWebtoonSeries(t *testing.T) {
	s := newSite(t)
	h := s.handler()
	env := testEnv(testFetcher())
	list := s.srv.URL + seriesPath + "/list?title_no=4321"

	chs, err := resolve(t, h, env, list, "2-3")
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 {
		t.Fatalf("2-3: %d chapters, want 2", len(chs))
	}
	for i, no := range []int{2, 3} {
		ch := chs[i]
		if ch.Number != strconv.Itoa(no) || ch.ID != "4321/"+strconv.Itoa(no) || ch.Title != episodeTitles[no] ||
			ch.Series != "The Lighthouse Keeper" || ch.Language != "en" || ch.SourceURL != viewerURL(s.srv.URL, no) {
			t.Errorf("chapter %d: %+v", i, ch)
		}
		checkWTPages(t, s, ch, no)
	}
	s.mu.Lock()
	if got := fmt.Sprint(s.viewers); got != "[2 3]" {
		t.Errorf("viewer pages fetched %s, want [2 3] (only the selected episodes)", got)
	}
	if len(s.listTimes) != 2 {
		t.Errorf("list pages fetched %d times, want 2 (page 1 links to page 2 and back)", len(s.listTimes))
	}
	s.viewers = nil
	s.mu.Unlock()

	chs, err = resolve(t, h, env, list, "last")
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || chs[0].Number != "5" || chs[0].Title != episodeTitles[5] {
		t.Fatalf("last: %+v", chs)
	}
	checkWTPages(t, s, chs[0], 5)

	// A whole series beyond max_chapters is refused before any viewer
	// page is fetched.
	s.mu.Lock()
	s.viewers = nil
	s.mu.Unlock()
	small := env
	small.MaxChapters = 3
	if _, err := resolve(t, h, small, list, "all"); !errors.Is(err, sites.ErrBadSelection) {
		t.Errorf("all with max 3: err = %v, want ErrBadSelection", err)
	}
	if _, err := resolve(t, h, env, list, "9"); !errors.Is(err, sites.ErrNotFound) {
		t.Errorf("episode 9: err = %v, want ErrNotFound", err)
	}
	s.mu.Lock()
	if len(s.viewers) != 0 {
		t.Errorf("viewer pages fetched for refused selections: %v", s.viewers)
	}
	s.mu.Unlock()
}

// TestWebtoonImageRate: the rate option throttles requests to the image
// host. The image host here is 127.0.0.2 (image_host points the limit at
// it), distinct from the site on 127.0.0.1, whose pages are not limited.
// With rate r the bucket holds ceil(r) tokens at first and gains r a
// second, and it is made after start: the j-th image request (1-based)
// cannot reach the server before start + (j - ceil(r))/r. Only lower
// bounds are checked, so a slow machine cannot fail the test; a fetcher
// that ignored the limit would send all 12 within milliseconds.
func TestWebtoonImageRate(t *testing.T) {
	const rate, burst = 5.0, 5 // burst: ceil(rate), as Limits declares
	s := newSiteImagesOn(t, listen127002(t))
	h := s.handlerWith(func(o *webtoon.Options) {
		o.Rate = rate
		o.ImageHost = "127.0.0.2"
	})
	lims := h.(sites.Limiter).Limits()
	if len(lims) != 1 || lims[0].Host != "127.0.0.2" || lims[0].Rate != rate || lims[0].Burst != burst {
		t.Fatalf("Limits() = %+v, want 127.0.0.2 at %v/s, burst %d", lims, rate, burst)
	}
	// The fetcher's own per-host rate never binds here: only the
	// handler's limit can space the image requests.
	f := download.New(download.Options{
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		BackoffBase:   time.Millisecond,
		UserAgent:     testUA,
		Rate:          10000,
		Burst:         1000,
	})
	chs, err := resolve(t, h, testEnv(f), s.srv.URL+seriesPath+"/list?title_no=4321", "1-3")
	if err != nil {
		t.Fatal(err)
	}
	var pages []download.Page
	for _, ch := range chs {
		pages = append(pages, ch.Pages...)
	}
	if len(pages) != 12 {
		t.Fatalf("%d pages in episodes 1-3, want 12", len(pages))
	}
	start := time.Now()
	f.SetHostLimits(lims...) // as the pipeline does

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard only
	defer cancel()
	res, err := f.Fetch(ctx, download.Batch{Pages: pages, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("Fetch: %v, result %+v", err, res)
	}
	s.mu.Lock()
	times := slices.Clone(s.imgTimes)
	s.mu.Unlock()
	if len(times) != len(pages) {
		t.Fatalf("image host saw %d requests, want %d", len(times), len(pages))
	}
	const slack = 2 * time.Millisecond // the token bucket's rounding
	for i, at := range times {
		earliest := time.Duration(float64(i+1-burst) / rate * float64(time.Second))
		if got := at.Sub(start); got < earliest-slack {
			t.Errorf("image request %d arrived %v after the start, before the %v a rate of %v/s (burst %d) allows", i+1, got, earliest, rate, burst)
		}
	}
}

// listen127002 listens on 127.0.0.2, a second loopback host. Linux routes
// all of 127/8 to lo; elsewhere the test is skipped, but not under CI.
func listen127002(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot listen on 127.0.0.2 (CI is set): %v", err)
		}
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	return ln
}

func TestWebtoonSeriesAllInOrder(t *testing.T) {
	s := newSite(t)
	chs, err := resolve(t, s.handler(), testEnv(testFetcher()), s.srv.URL+seriesPath+"/list?title_no=4321&page=2", "all")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range chs {
		got = append(got, c.Number)
	}
	if strings.Join(got, " ") != "1 2 3 4 5" {
		t.Errorf("episodes %v, want 1 2 3 4 5 (ascending, both list pages)", got)
	}
}

func TestWebtoonListRetryAfter(t *testing.T) {
	s := newSite(t)
	s.retryAfter = "1"
	s.listThrottle.Store(1)
	f := testFetcher()
	chs, err := resolve(t, s.handler(), testEnv(f), s.srv.URL+seriesPath+"/list?title_no=4321", "last")
	if err != nil {
		t.Fatalf("after one 429 the list should load: %v", err)
	}
	if len(chs) != 1 || chs[0].Number != "5" {
		t.Fatalf("last: %+v", chs)
	}
	s.mu.Lock()
	times := append([]time.Time(nil), s.listTimes...)
	s.mu.Unlock()
	if len(times) < 2 {
		t.Fatalf("list requested %d times, want a retry after the 429", len(times))
	}
	// Retry-After: 1 means the retry may not arrive sooner than a second
	// later (the backoff alone would be about a millisecond).
	if gap := times[1].Sub(times[0]); gap < 950*time.Millisecond {
		t.Errorf("retry came %v after the 429, before Retry-After: 1", gap)
	}
	if n := f.Stats().RateLimited[strings.ToLower(mustHost(t, s.srv.URL))]; n != 1 {
		t.Errorf("fetcher counted %d rate-limited responses, want 1 (stats %v)", n, f.Stats().RateLimited)
	}
}

// MangaDex-style X-RateLimit-Retry-After (a Unix time) is honoured on
// WEBTOON's pages too.
func TestWebtoonListRateLimitRetryAfterUnix(t *testing.T) {
	s := newSite(t)
	s.retryUnix = true
	s.listThrottle.Store(1)
	f := testFetcher()
	chs, err := resolve(t, s.handler(), testEnv(f), s.srv.URL+seriesPath+"/list?title_no=4321", "last")
	if err != nil {
		t.Fatalf("after one 429 the list should load: %v", err)
	}
	if len(chs) != 1 || chs[0].Number != "5" {
		t.Fatalf("last: %+v", chs)
	}
	s.mu.Lock()
	times := append([]time.Time(nil), s.listTimes...)
	at := s.retryAt
	s.mu.Unlock()
	if len(times) < 2 || at.IsZero() {
		t.Fatalf("list requested %d times (429 sent: %v), want a retry after the 429", len(times), !at.IsZero())
	}
	if times[1].Before(at) {
		t.Errorf("retry came at %v, before X-RateLimit-Retry-After %v", times[1], at)
	}
	if n := f.Stats().RateLimited[strings.ToLower(mustHost(t, s.srv.URL))]; n != 1 {
		t.Errorf("fetcher counted %d rate-limited responses, want 1 (stats %v)", n, f.Stats().RateLimited)
	}
}

// The image host fails one page on every try: the download reports that
// page failed with the reason, and the other pages arrive.
func TestWebtoonFailedImage(t *testing.T) {
	s := newSite(t)
	f := testFetcher()
	chs, err := resolve(t, s.handler(), testEnv(f), viewerURL(s.srv.URL, 2), "")
	if err != nil {
		t.Fatal(err)
	}
	ch := chs[0]
	checkWTPages(t, s, ch, 2)
	bad, _ := url.Parse(ch.Pages[1].URL)
	s.mu.Lock()
	s.failImage[bad.Path] = true
	s.mu.Unlock()

	res, err := f.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: t.TempDir(), Refresh: ch.Refresh, Report: ch.Report})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || len(res.Pages) != 4 {
		t.Fatalf("%d of %d pages failed, want 1 of 4: %+v", res.Failed, len(res.Pages), res.Pages)
	}
	for i, p := range res.Pages {
		if i != 1 {
			if p.Err != nil {
				t.Errorf("page %d: %v", i, p.Err)
			}
			continue
		}
		var pe *download.PageError
		if !errors.As(p.Err, &pe) || pe.Status != http.StatusInternalServerError || !strings.Contains(pe.Reason, "500") || pe.URL != ch.Pages[1].URL {
			t.Errorf("page 1: err %#v, want a PageError for %s with HTTP 500", p.Err, ch.Pages[1].URL)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.failed[bad.Path]; n < 2 {
		t.Errorf("failing page asked %d times, want it retried", n)
	}
	if len(s.images) != 3 || s.refused != 0 {
		t.Errorf("image host served %v (refused %d), want the 3 other pages", s.images, s.refused)
	}
}

// Episodes are numbered by the "#N" the site shows, not by episode_no,
// which differs once an episode was deleted; selections apply to "#N", the
// ID keeps episode_no.
func TestWebtoonShownNumbers(t *testing.T) {
	s := newSite(t)
	h := s.handler()
	env := testEnv(testFetcher())
	list := s.srv.URL + "/en/drama/gap-year/list?title_no=555"
	viewer := func(no int) string {
		return fmt.Sprintf("%s/en/drama/gap-year/episode-%d/viewer?title_no=555&episode_no=%d", s.srv.URL, no, no)
	}
	ids := func(chs []*sites.Chapter) string {
		var out []string
		for _, c := range chs {
			out = append(out, c.Number+"="+c.ID)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ sel, want string }{
		{"2", "2=555/3"},
		{"3", "3=555/4"},
		{"all", "1=555/1 2=555/3 3=555/4"},
		{"2-3", "2=555/3 3=555/4"},
		{"last", "3=555/4"},
	} {
		chs, err := resolve(t, h, env, list, tc.sel)
		if err != nil {
			t.Errorf("%q: %v", tc.sel, err)
			continue
		}
		if got := ids(chs); got != tc.want {
			t.Errorf("%q: chapters %q, want %q", tc.sel, got, tc.want)
		}
		for _, c := range chs {
			no, _ := strconv.Atoi(strings.TrimPrefix(c.ID, "555/"))
			if c.SourceURL != viewer(no) || c.Title != gapYear[no].title || len(c.Pages) != 4 {
				t.Errorf("%q: chapter %s: SourceURL %s, Title %q, %d pages", tc.sel, c.ID, c.SourceURL, c.Title, len(c.Pages))
			}
		}
	}
	s.mu.Lock()
	s.viewers = nil
	s.mu.Unlock()
	// "4" is episode_no 4's number no more.
	if _, err := resolve(t, h, env, list, "4"); !errors.Is(err, sites.ErrNotFound) {
		t.Errorf(`"4": err = %v, want ErrNotFound`, err)
	}
	s.mu.Lock()
	if len(s.viewers) != 0 {
		t.Errorf("viewer pages fetched for a selection that matches nothing: %v", s.viewers)
	}
	s.mu.Unlock()

	// An episode link takes the viewer's "#N" badge.
	chs, err := resolve(t, h, env, viewer(4), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(chs); got != "3=555/4" {
		t.Errorf("episode link: %q, want 3=555/4", got)
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname()
}

func TestWebtoonErrors(t *testing.T) {
	s := newSite(t)
	h := s.handler()
	env := testEnv(testFetcher())
	for _, tc := range []struct {
		name, url string
		want      error
	}{
		{"changed viewer", s.srv.URL + "/en/drama/moved-around/episode-1/viewer?title_no=77&episode_no=1", sites.ErrLayout},
		{"changed list", s.srv.URL + "/en/drama/moved-around/list?title_no=77", sites.ErrLayout},
		{"missing episode", viewerURL(s.srv.URL, 99), sites.ErrNotFound},
		{"missing series", s.srv.URL + seriesPath + "/list?title_no=5", sites.ErrNotFound},
		{"missing list page", s.srv.URL + "/en/fantasy/nothing-here/list?title_no=4321", sites.ErrNotFound},
		{"motion episode", s.srv.URL + "/en/fantasy/motion-tales/episode-1/viewer?title_no=88&episode_no=1", sites.ErrNoPages},
		{"OZ viewer episode", s.srv.URL + "/en/fantasy/motion-tales/episode-2/viewer?title_no=88&episode_no=2", sites.ErrNoPages},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chs, err := resolve(t, h, env, tc.url, "")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v (chapters %v), want %v", err, chs, tc.want)
			}
			// The error names the kind of episode.
			if kind, ok := map[string]string{"motion episode": "is a motion episode", "OZ viewer episode": "is an OZ viewer episode"}[tc.name]; ok && !strings.Contains(err.Error(), kind) {
				t.Errorf("err = %v, want it to say %q", err, kind)
			}
		})
	}
}

// Without the consent cookies the real site redirects to its age gate;
// the stand-in does too, so this fails if the handler stops sending them.
func TestWebtoonAgeGateCookies(t *testing.T) {
	s := newSite(t)
	req, _ := http.NewRequest(http.MethodGet, viewerURL(s.srv.URL, 1), nil)
	resp, err := testFetcher().Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.Path, "/en/ageGate") {
		t.Fatalf("stand-in did not redirect a cookieless request: %s", resp.Request.URL)
	}
	chs, err := resolve(t, s.handler(), testEnv(testFetcher()), viewerURL(s.srv.URL, 1), "")
	if err != nil || len(chs) != 1 || len(chs[0].Pages) != 4 {
		t.Fatalf("with the handler's cookies: %v, %+v", err, chs)
	}
}

func TestWebtoonMatch(t *testing.T) {
	info, ok := sites.Lookup("webtoon")
	if !ok {
		t.Fatal(`"webtoon" is not registered`)
	}
	if len(info.Patterns) == 0 || info.Description == "" {
		t.Errorf("declaration lacks patterns or description: %+v", info)
	}
	def := info.Options().(*webtoon.Options)
	if def.BaseURL != "https://www.webtoons.com" || def.Referer != testReferer || def.Rate <= 0 || def.ImageHost != "webtoon-phinf.pstatic.net" {
		t.Errorf("defaults: %+v", def)
	}
	h, err := info.New(def)
	if err != nil {
		t.Fatal(err)
	}
	lim, ok := h.(sites.Limiter)
	if !ok {
		t.Fatal("handler is not a sites.Limiter")
	}
	if l := lim.Limits(); len(l) != 1 || l[0].Host != "webtoon-phinf.pstatic.net" || l[0].Rate != def.Rate || l[0].Burst < 1 {
		t.Errorf("Limits() = %+v", l)
	}

	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/episode-3/viewer?title_no=4321&episode_no=3", true},
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/list?title_no=4321", true},
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/list?title_no=4321&page=2", true},
		{"https://m.webtoons.com/fr/romance/une-serie/episode-1/viewer?title_no=12&episode_no=1", true},
		{"https://www.webtoons.com/en/canvas/a-canvas-comic/list?title_no=900123", true},
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/episode-3/viewer?title_no=4321", false}, // no episode_no
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/list", false},                           // no title_no
		{"https://www.webtoons.com/en/fantasy/the-lighthouse-keeper/list?title_no=abc", false},
		{"https://www.webtoons.com/en/", false},
		{"https://www.webtoons.com/en/genres/fantasy", false},
		{"https://example.com/en/fantasy/the-lighthouse-keeper/list?title_no=4321", false},
		{"https://www.webtoons.com.evil.example/en/fantasy/x/list?title_no=4321", false},
		{"https://webtoon-phinf.pstatic.net/en/fantasy/x/list?title_no=4321", false},
		{"https://mangadex.org/chapter/0e9a2f1c-8b1e-4d53-9b1f-3c1b5c0f7d2a", false},
		{"ftp://www.webtoons.com/en/fantasy/x/list?title_no=4321", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Match(u); got != tc.want {
			t.Errorf("Match(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}

	// With base_url set elsewhere, that host is taken and webtoons.com is not.
	o := info.Options().(*webtoon.Options)
	o.BaseURL = "http://127.0.0.1:8080"
	h2, err := info.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"http://127.0.0.1:8080/en/fantasy/x/list?title_no=1":                             true,
		"http://127.0.0.1:9090/en/fantasy/x/list?title_no=1":                             false,
		"https://www.webtoons.com/en/fantasy/x/episode-1/viewer?title_no=1&episode_no=1": false,
	} {
		u, _ := url.Parse(raw)
		if got := h2.Match(u); got != want {
			t.Errorf("base %s: Match(%s) = %v, want %v", o.BaseURL, raw, got, want)
		}
	}

	for _, bad := range []webtoon.Options{
		{BaseURL: "www.webtoons.com", Referer: testReferer, Rate: 4},
		{BaseURL: "https://www.webtoons.com", Referer: testReferer, Rate: 0},
		{BaseURL: "https://www.webtoons.com", Referer: "not a url", Rate: 4},
		{BaseURL: "https://www.webtoons.com", Referer: testReferer, Rate: 4, ImageHost: "https://webtoon-phinf.pstatic.net"},
		{BaseURL: "https://www.webtoons.com", Referer: testReferer, Rate: 4, ImageHost: "webtoon-phinf.pstatic.net:443"},
	} {
		if _, err := info.New(&bad); err == nil {
			t.Errorf("New(%+v) accepted bad options", bad)
		}
	}
}
