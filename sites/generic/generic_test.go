package generic_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/generic"
	"github.com/mangabot/mangabot/sites/sitestest"
)

const testUA = "mangabot-test/1 (+https://example.test/contact)"

// fixtureServer serves saved reader pages from testdata/generic at the
// given paths, PNG images for every path under /wp-content/ (checking the
// Referer they get against wantReferer, when set), and counts requests per
// path.
type fixtureServer struct {
	*httptest.Server

	mu          sync.Mutex
	hits        map[string]int
	badUA       []string
	wantReferer string
	badReferer  []string
	images      int

	failImages map[string]bool        // image paths answered with 500, every time
	failed     map[string]int         // image path -> 500s served
	throttle   string                 // path whose next request gets a 429 ...
	throttleTS time.Time              // ... with this X-RateLimit-Retry-After
	times      map[string][]time.Time // arrival of every request, per path
	users      []string               // user of the Basic auth on page requests
}

func newFixtureServer(t *testing.T, pages map[string]string) *fixtureServer {
	return newEditedFixtureServer(t, pages, nil)
}

// newEditedFixtureServer is newFixtureServer with the fixture of each path
// passed through edit (when not nil) before serving.
func newEditedFixtureServer(t *testing.T, pages map[string]string, edit func(path string, b []byte) []byte) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{hits: map[string]int{}, failImages: map[string]bool{}, failed: map[string]int{}, times: map[string][]time.Time{}}
	body := map[string][]byte{}
	for p, file := range pages {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			b = edit(p, b)
		}
		body[p] = b
	}
	img := pngBytes(t)
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		fs.times[r.URL.Path] = append(fs.times[r.URL.Path], time.Now())
		if r.UserAgent() != testUA {
			fs.badUA = append(fs.badUA, r.URL.Path+": "+r.UserAgent())
		}
		throttle := fs.throttle != "" && fs.throttle == r.URL.Path
		if throttle {
			// A Unix time 1-2 s ahead, as MangaDex sends it.
			fs.throttle, fs.throttleTS = "", time.Unix(time.Now().Unix()+2, 0)
			w.Header().Set("X-RateLimit-Retry-After", strconv.FormatInt(fs.throttleTS.Unix(), 10))
		}
		fail := fs.failImages[r.URL.Path]
		if fail {
			fs.failed[r.URL.Path]++
		}
		if _, ok := body[r.URL.Path]; ok {
			if u, _, ok := r.BasicAuth(); ok {
				fs.users = append(fs.users, u)
			}
		}
		fs.mu.Unlock()
		if throttle {
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
			return
		}
		if fail {
			http.Error(w, "image server error", http.StatusInternalServerError)
			return
		}
		if b, ok := body[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.Write(b)
			return
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/wp-content/") || strings.HasSuffix(r.URL.Path, ".jpg"):
			fs.mu.Lock()
			fs.images++
			if fs.wantReferer != "" && r.Referer() != fs.wantReferer {
				fs.badReferer = append(fs.badReferer, r.URL.Path+": "+r.Referer())
			}
			fs.mu.Unlock()
			w.Header().Set("Content-Type", "image/png")
			w.Write(img)
		case r.URL.Path == "/binary":
			w.Header().Set("Content-Type", "application/zip")
			w.Write(bytes.Repeat([]byte{0}, 1024))
		case r.URL.Path == "/boom":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fixtureServer) hitCount(p string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[p]
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 4, 6))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 10)
	}
	m.Set(0, 0, color.Gray{Y: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newFetcher() *download.Fetcher {
	return sitestest.Fetcher(download.Options{UserAgent: testUA, Rate: 1000, Burst: 100, Retries: -1})
}

// retryFetcher retries like the default configuration (newFetcher does
// not retry at all).
func retryFetcher() *download.Fetcher {
	return sitestest.Fetcher(download.Options{UserAgent: testUA, Rate: 1000, Burst: 100, Retries: 3})
}

func testEnv() sites.Env {
	return sites.Env{Client: newFetcher().Client(), UserAgent: testUA, MaxChapters: 10}
}

// newTestHandler builds the registered generic handler from options.
func newTestHandler(t *testing.T, opts *generic.Options) sites.Handler {
	t.Helper()
	h, err := buildGeneric(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func buildGeneric(opts *generic.Options) (sites.Handler, error) {
	info, ok := sites.Lookup("generic")
	if !ok {
		return nil, errors.New("generic is not registered")
	}
	if opts == nil {
		opts = info.Options().(*generic.Options)
	}
	return info.New(opts)
}

func resolveOne(t *testing.T, h sites.Handler, raw string) (*sites.Chapter, error) {
	t.Helper()
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	chs, err := h.Resolve(context.Background(), testEnv(), sites.Request{URL: u})
	if err != nil {
		return nil, err
	}
	if len(chs) != 1 {
		t.Fatalf("Resolve gave %d chapters, want 1", len(chs))
	}
	return chs[0], nil
}

func pageURLs(ps []download.Page) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.URL
	}
	return out
}

func TestGenericRegistered(t *testing.T) {
	info, ok := sites.Lookup("generic")
	if !ok {
		t.Fatal("generic is not registered")
	}
	if !info.Fallback {
		t.Error("generic must be a fallback handler")
	}
	if len(info.Patterns) == 0 || info.Description == "" {
		t.Error("generic needs a description and patterns")
	}
	o, ok := info.Options().(*generic.Options)
	if !ok || o == nil || len(o.Rules) != 0 {
		t.Fatalf("Options() = %#v, want an empty *generic.Options", info.Options())
	}
	if all := sites.All(); !all[len(all)-1].Fallback {
		t.Error("the fallback generic handler must sort last")
	}
	// Every option field carries toml and help tags (config needs them).
	for _, typ := range []reflect.Type{reflect.TypeOf(generic.Options{}), reflect.TypeOf(generic.Rule{})} {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.Tag.Get("toml") == "" || f.Tag.Get("help") == "" {
				t.Errorf("%s.%s lacks a toml or help tag", typ.Name(), f.Name)
			}
		}
	}
}

func TestGenericMatch(t *testing.T) {
	h := newTestHandler(t, nil)
	for raw, want := range map[string]bool{
		"https://scans.example.test/manga/x/chapter-1/": true,
		"http://127.0.0.1:8080/read?id=3":               true,
		"HTTPS://Example.test/":                         true,
		"ftp://example.test/ch1.zip":                    false,
		"mailto:someone@example.test":                   false,
		"file:///etc/passwd":                            false,
		"https:///no-host":                              false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Match(u); got != want {
			t.Errorf("Match(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestGenericGallery(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	h := newTestHandler(t, nil)
	pageURL := fs.URL + pagePath
	ch, err := resolveOne(t, h, pageURL+"#top")
	if err != nil {
		t.Fatal(err)
	}
	d := fs.URL + "/wp-content/uploads/WP-manga/data/manga_65/ch12/"
	want := []string{
		d + "01.jpg",                 // data-src with whitespace, data: placeholder in src
		d + "02.jpg",                 // data-src
		d + "03.jpg",                 // data-lazy-src over a placeholder src
		d + "04-1200.jpg",            // srcset: the widest
		fs.URL + pagePath + "05.jpg", // relative to the page
		d + "06.jpg",
		d + "07.jpg",                 // data-original
		d + "08@2x.jpg",              // srcset: the densest
		fs.URL + pagePath + "09.jpg", // ../chapter-12/09.jpg
		// image-9 repeats 02.jpg: dropped
		d + "11.jpg",
		d + "12.jpg?v=2",
	}
	if got := pageURLs(ch.Pages); !reflect.DeepEqual(got, want) {
		t.Errorf("pages:\n got %q\nwant %q", got, want)
	}
	for i, p := range ch.Pages {
		if r := p.Header.Get("Referer"); r != pageURL {
			t.Errorf("page %d Referer = %q, want %q", i, r, pageURL)
		}
	}
	if ch.Site != "generic" || ch.SourceURL != pageURL+"#top" {
		t.Errorf("Site, SourceURL = %q, %q", ch.Site, ch.SourceURL)
	}
	if ch.Series != "Solo Hero" || ch.Number != "12" || ch.Title != "The Gate" {
		t.Errorf("Series, Number, Title = %q, %q, %q; want Solo Hero, 12, The Gate", ch.Series, ch.Number, ch.Title)
	}
	if len(ch.ID) < 8 || strings.Contains(ch.ID, "/") {
		t.Errorf("ID = %q, want a hash", ch.ID)
	}
	// The ID is stable for a link and differs between links.
	again, err := resolveOne(t, h, pageURL)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != ch.ID {
		t.Errorf("ID changed between resolves: %q, %q", ch.ID, again.ID)
	}
	fs2 := newFixtureServer(t, map[string]string{"/manga/solo-hero/chapter-13/": "gallery.html"})
	other, err := resolveOne(t, h, fs2.URL+"/manga/solo-hero/chapter-13/")
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == ch.ID {
		t.Errorf("two links share the ID %q", ch.ID)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.badUA) > 0 {
		t.Errorf("requests without the User-Agent: %q", fs.badUA)
	}
}

func TestGenericGalleryBaseHref(t *testing.T) {
	fs := newFixtureServer(t, map[string]string{"/read/tower-diary/5": "gallery-base.html"})
	ch, err := resolveOne(t, newTestHandler(t, nil), fs.URL+"/read/tower-diary/5")
	if err != nil {
		t.Fatal(err)
	}
	const b = "https://cdn.example.test/scans/tower-diary/v2/c5/"
	want := []string{b + "001.png", b + "002.png", b + "003.png", b + "004.png", b + "005.png",
		"https://img2.example.test/scans/tower-diary/v2/c5/006.png"}
	if got := pageURLs(ch.Pages); !reflect.DeepEqual(got, want) {
		t.Errorf("pages:\n got %q\nwant %q", got, want)
	}
	for i, p := range ch.Pages {
		// The Referer is the page, not the <base>.
		if r := p.Header.Get("Referer"); r != fs.URL+"/read/tower-diary/5" {
			t.Errorf("page %d Referer = %q", i, r)
		}
	}
	if ch.Series != "Tower Diary" || ch.Number != "5" {
		t.Errorf("Series, Number = %q, %q; want Tower Diary, 5", ch.Series, ch.Number)
	}
}

func TestGenericGalleryErrors(t *testing.T) {
	fs := newFixtureServer(t, map[string]string{"/news/delay": "noimages.html"})
	h := newTestHandler(t, nil)

	_, err := resolveOne(t, h, fs.URL+"/news/delay")
	want := "no chapter images found on " + fs.URL + "/news/delay; if this site needs a rule, see [[sites.generic.rules]]"
	if !errors.Is(err, sites.ErrLayout) || err.Error() != want {
		t.Errorf("page without images: err = %v, want %q", err, want)
	}
	_, err = resolveOne(t, h, fs.URL+"/manga/gone/chapter-1/")
	if !errors.Is(err, sites.ErrNotFound) {
		t.Errorf("404: err = %v, want ErrNotFound", err)
	}
	_, err = resolveOne(t, h, fs.URL+"/boom")
	if err == nil || errors.Is(err, sites.ErrNotFound) || !strings.Contains(err.Error(), "HTTP 503") || strings.Contains(err.Error(), "\n") {
		t.Errorf("503: err = %v, want a one-line error naming HTTP 503", err)
	}
	_, err = resolveOne(t, h, fs.URL+"/binary")
	if !errors.Is(err, sites.ErrLayout) || !strings.Contains(err.Error(), "application/zip") {
		t.Errorf("zip: err = %v, want ErrLayout naming the content type", err)
	}
}

func TestGenericGalleryTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body><div id=reader>"))
		chunk := bytes.Repeat([]byte(`<img src="/p.jpg">`), 4096)
		for i := 0; i < 200; i++ { // ~14 MiB if read to the end
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := resolveOne(t, newTestHandler(t, nil), srv.URL+"/huge")
	if !errors.Is(err, sites.ErrLayout) || !strings.Contains(err.Error(), "larger than 5 MiB") {
		t.Errorf("err = %v, want ErrLayout: larger than 5 MiB", err)
	}
}

func TestGenericGalleryRefererReachesImageServer(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	fs.mu.Lock()
	fs.wantReferer = fs.URL + pagePath
	fs.mu.Unlock()
	f := newFetcher()
	u, _ := sites.ParseURL(fs.URL + pagePath)
	chs, err := newTestHandler(t, nil).Resolve(context.Background(), sites.Env{Client: f.Client(), UserAgent: testUA}, sites.Request{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Fetch(context.Background(), download.Batch{Pages: chs[0].Pages, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || len(res.Pages) != 11 {
		t.Fatalf("fetched %d pages, %d failed: %+v", len(res.Pages), res.Failed, res.Pages)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.images != 11 {
		t.Errorf("image server saw %d requests, want 11", fs.images)
	}
	if len(fs.badReferer) > 0 {
		t.Errorf("image requests with a wrong Referer: %q", fs.badReferer)
	}
}

// user:pass@ in a link is sent to the reader's host only: not in the
// Referer of images (which often live on other hosts), not in SourceURL
// (the PDF's Subject), not in the ID nor in error messages.
func TestGenericLinkCredentials(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	plain := fs.URL + pagePath
	withUser := strings.Replace(plain, "http://", "http://reader:s3cret@", 1)
	fs.mu.Lock()
	fs.wantReferer = plain
	fs.mu.Unlock()
	f := retryFetcher()
	env := sites.Env{Client: f.Client(), UserAgent: testUA}
	h := newTestHandler(t, nil)
	resolve := func(raw string) ([]*sites.Chapter, error) {
		u, err := sites.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		return h.Resolve(context.Background(), env, sites.Request{URL: u})
	}
	chs, err := resolve(withUser)
	if err != nil {
		t.Fatal(err)
	}
	ch := chs[0]
	if ch.SourceURL != plain {
		t.Errorf("SourceURL = %q, want %q", ch.SourceURL, plain)
	}
	for i, p := range ch.Pages {
		if r := p.Header.Get("Referer"); r != plain {
			t.Errorf("page %d Referer = %q, want %q", i, r, plain)
		}
	}
	anon, err := resolve(plain)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != anon[0].ID {
		t.Errorf("ID %q with credentials, %q without: the credentials are part of it", ch.ID, anon[0].ID)
	}
	res, err := f.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("fetch: %v, %d failed", err, res.Failed)
	}
	fs.mu.Lock()
	if len(fs.badReferer) > 0 {
		t.Errorf("image requests with a wrong Referer: %q", fs.badReferer)
	}
	// The credentials still reach the reader's own host.
	if len(fs.users) == 0 || fs.users[0] != "reader" {
		t.Errorf("page requests authenticated as %q, want reader", fs.users)
	}
	fs.mu.Unlock()

	for _, p := range []string{"/manga/gone/chapter-1/", "/boom", "/binary"} {
		_, err := resolve(strings.Replace(withUser, pagePath, p, 1))
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: err = %v, want one without the password", p, err)
		}
	}
}

// The image host fails one page on every try: the download reports that
// page failed with the reason, and the other pages arrive.
func TestGenericFailedImage(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	f := retryFetcher()
	u, _ := sites.ParseURL(fs.URL + pagePath)
	chs, err := newTestHandler(t, nil).Resolve(context.Background(), sites.Env{Client: f.Client(), UserAgent: testUA}, sites.Request{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	ch := chs[0]
	if len(ch.Pages) != 11 {
		t.Fatalf("%d pages, want 11", len(ch.Pages))
	}
	const bad = 3
	bu, _ := url.Parse(ch.Pages[bad].URL)
	fs.mu.Lock()
	fs.failImages[bu.Path] = true
	fs.mu.Unlock()

	res, err := f.Fetch(context.Background(), download.Batch{Pages: ch.Pages, Dir: t.TempDir(), Refresh: ch.Refresh, Report: ch.Report})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || len(res.Pages) != 11 {
		t.Fatalf("%d of %d pages failed, want 1 of 11", res.Failed, len(res.Pages))
	}
	for i, p := range res.Pages {
		if i != bad {
			if p.Err != nil {
				t.Errorf("page %d: %v", i, p.Err)
			}
			continue
		}
		var pe *download.PageError
		if !errors.As(p.Err, &pe) || pe.Status != http.StatusInternalServerError || !strings.Contains(pe.Reason, "500") || pe.URL != ch.Pages[bad].URL {
			t.Errorf("page %d: err %#v, want a PageError for %s with HTTP 500", i, p.Err, ch.Pages[bad].URL)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n := fs.failed[bu.Path]; n < 2 {
		t.Errorf("failing page asked %d times, want it retried", n)
	}
	if fs.images != 10 {
		t.Errorf("image server served %d images, want the 10 other pages", fs.images)
	}
}

// A 429 on the reader page with X-RateLimit-Retry-After (a Unix time) is
// waited out and the page asked again.
func TestGenericPageRateLimited(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	fs.mu.Lock()
	fs.throttle = pagePath
	fs.mu.Unlock()
	f := retryFetcher()
	u, _ := sites.ParseURL(fs.URL + pagePath)
	chs, err := newTestHandler(t, nil).Resolve(context.Background(), sites.Env{Client: f.Client(), UserAgent: testUA}, sites.Request{URL: u})
	if err != nil {
		t.Fatalf("after one 429 the page should load: %v", err)
	}
	if len(chs) != 1 || len(chs[0].Pages) != 11 {
		t.Fatalf("chapters %+v", chs)
	}
	fs.mu.Lock()
	times := append([]time.Time(nil), fs.times[pagePath]...)
	ts := fs.throttleTS
	fs.mu.Unlock()
	if len(times) != 2 || ts.IsZero() {
		t.Fatalf("page requested %d times (429 sent: %v), want the 429 and one retry", len(times), !ts.IsZero())
	}
	if times[1].Before(ts) {
		t.Errorf("retried at %v, before X-RateLimit-Retry-After %v", times[1], ts)
	}
	if n := f.Stats().RateLimited["127.0.0.1"]; n != 1 {
		t.Errorf("fetcher counted %d 429s, want 1", n)
	}
}

func TestGenericRuleSelectorAttribute(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{
		{Host: "*.example.test", Selector: "img.never"}, // not this host
		{Host: "127.0.0.1", Selector: ".reading-content img.lazyload", Attribute: "data-src", Referer: "https://scans.example.test/"},
	}})
	ch, err := resolveOne(t, h, fs.URL+pagePath)
	if err != nil {
		t.Fatal(err)
	}
	d := fs.URL + "/wp-content/uploads/WP-manga/data/manga_65/ch12/"
	want := []string{d + "01.jpg", d + "02.jpg"} // image-9 repeats 02
	if got := pageURLs(ch.Pages); !reflect.DeepEqual(got, want) {
		t.Errorf("pages:\n got %q\nwant %q", got, want)
	}
	for i, p := range ch.Pages {
		if r := p.Header.Get("Referer"); r != "https://scans.example.test/" {
			t.Errorf("page %d Referer = %q, want the rule's", i, r)
		}
	}

	// A rule whose selector finds nothing is a layout error naming it,
	// even though the gallery heuristic would have found images.
	h = newTestHandler(t, &generic.Options{Rules: []generic.Rule{{Host: "127.0.0.1", Selector: "#viewer .page img"}}})
	_, err = resolveOne(t, h, fs.URL+pagePath)
	if !errors.Is(err, sites.ErrLayout) || !strings.Contains(err.Error(), `"#viewer .page img"`) {
		t.Errorf("err = %v, want ErrLayout naming the selector", err)
	}
}

func TestGenericRuleNextPages(t *testing.T) {
	fs := newFixtureServer(t, map[string]string{
		"/night-market/7":   "rule-page1.html",
		"/night-market/7/2": "rule-page2.html",
		"/night-market/7/3": "rule-page3.html",
	})
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{
		Host: "127.0.0.1", Selector: "#imgholder img", Attribute: "data-full", Next: ".navi .next a", Rate: 2,
	}}})
	ch, err := resolveOne(t, h, fs.URL+"/night-market/7")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://i.paperlantern.test/night-market/7/p1.jpg",
		"https://i.paperlantern.test/night-market/7/p2.jpg",
		"https://i.paperlantern.test/night-market/7/p3.jpg",
	}
	if got := pageURLs(ch.Pages); !reflect.DeepEqual(got, want) {
		t.Errorf("pages:\n got %q\nwant %q", got, want)
	}
	// Each image's Referer is the HTML page it was found on.
	for i, p := range ch.Pages {
		wantRef := fs.URL + "/night-market/7"
		if i > 0 {
			wantRef += "/" + string(rune('1'+i))
		}
		if r := p.Header.Get("Referer"); r != wantRef {
			t.Errorf("page %d Referer = %q, want %q", i, r, wantRef)
		}
	}
	// Page 3 links back to page 1: the loop is not followed.
	for _, p := range []string{"/night-market/7", "/night-market/7/2", "/night-market/7/3"} {
		if n := fs.hitCount(p); n != 1 {
			t.Errorf("%s fetched %d times, want 1", p, n)
		}
	}
	if ch.Series != "Night Market" || ch.Number != "7" {
		t.Errorf("Series, Number = %q, %q", ch.Series, ch.Number)
	}
	lim, ok := h.(sites.Limiter)
	if !ok {
		t.Fatal("generic does not implement sites.Limiter")
	}
	if got := lim.Limits(); len(got) != 1 || got[0].Host != "127.0.0.1" || got[0].Rate != 2 || got[0].Burst < 1 {
		t.Errorf("Limits() = %+v, want 127.0.0.1 at 2/s", got)
	}
}

func TestGenericRuleNextStaysOnHost(t *testing.T) {
	// Page 2's next link leads to another server: it is not followed.
	other := newFixtureServer(t, map[string]string{"/night-market/7/3": "rule-page3.html"})
	fs := newEditedFixtureServer(t, map[string]string{
		"/night-market/7":   "rule-page1.html",
		"/night-market/7/2": "rule-page2.html",
	}, func(p string, b []byte) []byte {
		if p != "/night-market/7/2" {
			return b
		}
		nb := bytes.ReplaceAll(b, []byte(`href="/night-market/7/3#img"`), []byte(`href="`+other.URL+`/night-market/7/3"`))
		if bytes.Equal(nb, b) {
			t.Fatal("rule-page2.html has no next link to page 3")
		}
		return nb
	})
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{
		Host: "127.0.0.1", Selector: "#imgholder img", Attribute: "data-full", Next: ".navi .next a",
	}}})
	ch, err := resolveOne(t, h, fs.URL+"/night-market/7")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://i.paperlantern.test/night-market/7/p1.jpg", "https://i.paperlantern.test/night-market/7/p2.jpg"}
	if got := pageURLs(ch.Pages); !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %q, want %q", got, want)
	}
	if n := other.hitCount("/night-market/7/3"); n != 0 {
		t.Errorf("the other host was asked %d times", n)
	}
}

func TestGenericRuleValidation(t *testing.T) {
	ok := generic.Rule{Host: "reader.example.test", Selector: "#reader img"}
	for _, tc := range []struct {
		rules []generic.Rule
		want  string
	}{
		{[]generic.Rule{ok, {Host: "b.example.test"}}, "rules[1].selector: required"},
		{[]generic.Rule{{Selector: "img"}}, "rules[0].host: required"},
		{[]generic.Rule{{Host: "https://reader.example.test/", Selector: "img"}}, "rules[0].host"},
		{[]generic.Rule{{Host: "reader.example.test:8443", Selector: "img"}}, "rules[0].host"},
		{[]generic.Rule{ok, {Host: "a.example.test", Selector: "div[[img"}}, "rules[1].selector: invalid CSS selector"},
		{[]generic.Rule{{Host: "a.example.test", Selector: "img", Next: "a:nth-child(x)"}}, "rules[0].next: invalid CSS selector"},
		{[]generic.Rule{{Host: "a.example.test", Selector: "img", Rate: -1}}, "rules[0].rate"},
		{[]generic.Rule{ok, {Host: "*.example.test", Selector: "img", Rate: 2}}, "rules[1].rate: needs an exact host"},
		{[]generic.Rule{{Host: "a.example.test", Selector: "img", Referer: "not a url"}}, "rules[0].referer"},
		{[]generic.Rule{{Host: "a.example.test", Selector: "img", Attribute: "data src"}}, "rules[0].attribute"},
		{[]generic.Rule{ok, {Host: "Reader.Example.test", Selector: "img"}}, "rules[1].host"},
	} {
		_, err := buildGeneric(&generic.Options{Rules: tc.rules})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rules %+v: err = %v, want %q", tc.rules, err, tc.want)
		}
	}
	h, err := buildGeneric(&generic.Options{Rules: []generic.Rule{
		ok,
		{Host: "*.scans.example.test", Selector: "div.page > img, img.page", Attribute: "data-src", Next: "a.next"},
		{Host: "Img.Scans.example.test", Selector: "img", Rate: 0.5},
	}})
	if err != nil {
		t.Fatalf("valid rules: %v", err)
	}
	got := h.(sites.Limiter).Limits()
	if len(got) != 1 || got[0].Host != "img.scans.example.test" || got[0].Rate != 0.5 || got[0].Burst < 1 {
		t.Errorf("Limits() = %+v", got)
	}
}

func TestGenericRuleWildcardHost(t *testing.T) {
	// Every host name reaches the fixture server, so rules can be tried on
	// real names.
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	addr := fs.Listener.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	env := sites.Env{Client: client, UserAgent: testUA}
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{
		{Host: "*.scans.example.test", Selector: ".reading-content img", Attribute: "data-original"},
		{Host: "cdn.scans.example.test", Selector: "img.exact-rule-wins"},
	}})
	resolve := func(raw string) ([]*sites.Chapter, error) {
		u, err := sites.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		return h.Resolve(context.Background(), env, sites.Request{URL: u})
	}
	for _, host := range []string{"scans.example.test", "www.scans.example.test", "a.b.scans.example.test"} {
		chs, err := resolve("http://" + host + pagePath)
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		want := []string{"http://" + host + "/wp-content/uploads/WP-manga/data/manga_65/ch12/07.jpg"}
		if got := pageURLs(chs[0].Pages); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: pages %q, want the wildcard rule's %q", host, got, want)
		}
	}
	_, err := resolve("http://cdn.scans.example.test" + pagePath)
	if !errors.Is(err, sites.ErrLayout) || !strings.Contains(err.Error(), "img.exact-rule-wins") {
		t.Errorf("exact host: err = %v, want the exact rule's layout error", err)
	}
	// Hosts without a rule use the gallery heuristic.
	chs, err := resolve("http://otherscans.example.test" + pagePath)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(chs[0].Pages); n != 11 {
		t.Errorf("host without a rule: %d pages, want the 11 gallery pages", n)
	}
}

func TestGenericRuleNextBound(t *testing.T) {
	// A reader whose next link never ends: the handler stops at 200 pages.
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/read/%d", &n); err != nil {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hits++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><body><div id="page"><img src="/img/%d.jpg"></div><a class="next" href="/read/%d">next</a></body></html>`, n, n+1)
	}))
	defer srv.Close()
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{Host: "127.0.0.1", Selector: "#page img", Next: "a.next"}}})
	ch, err := resolveOne(t, h, srv.URL+"/read/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Pages) != 200 || ch.Pages[199].URL != srv.URL+"/img/200.jpg" {
		t.Errorf("%d pages, last %q; want 200 ending at /img/200.jpg", len(ch.Pages), ch.Pages[len(ch.Pages)-1].URL)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 200 {
		t.Errorf("server saw %d page requests, want 200", hits)
	}
}

// Pages that show only decorations (cover, logo, advert, avatar, related
// thumbnails) are errors, never a chapter of decorations; a series page
// says it is one.
func TestGenericDecorationsOnly(t *testing.T) {
	fs := newFixtureServer(t, map[string]string{
		"/infinite-level-up-chapter-124/": "decoys-only.html",
		"/manga/solo-hero/":               "series-decoys.html",
	})
	h := newTestHandler(t, nil)
	_, err := resolveOne(t, h, fs.URL+"/infinite-level-up-chapter-124/")
	want := "no chapter images found on " + fs.URL + "/infinite-level-up-chapter-124/; if this site needs a rule, see [[sites.generic.rules]]"
	if !errors.Is(err, sites.ErrLayout) || err == nil || err.Error() != want {
		t.Errorf("decorations only: err = %v, want %q", err, want)
	}
	_, err = resolveOne(t, h, fs.URL+"/manga/solo-hero/")
	if !errors.Is(err, sites.ErrUnsupported) || err == nil || !strings.Contains(err.Error(), "looks like a series page (3 chapter links)") {
		t.Errorf("series page: err = %v, want one saying it is a series page", err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.images != 0 {
		t.Errorf("%d images requested", fs.images)
	}
}

// Each signal that tells a page image from a decoration, alone: a page
// that the signal makes a chapter, and one it makes decorations only.
func TestGenericDecorationSignals(t *testing.T) {
	const head = `<html><head><meta property="og:image" content="/img/cover.jpg"></head><body>`
	for _, tc := range []struct {
		name, body string
		want       []string // page paths; nil: no chapter images
	}{
		{"pages share a folder", `<div><img src="/ch1/01.jpg"><img src="/ch1/02.jpg"></div>`, []string{"/ch1/01.jpg", "/ch1/02.jpg"}},
		{"two images from two folders", `<div><img src="/img/site-mark.png"><img src="/promo/event.gif"></div>`, nil},
		{"one plain image", `<article><p><img src="/uploads/illustration.jpg"></p></article>`, nil},
		{"one lazy image", `<div><img src="data:image/gif;base64,R0lGOD" data-src="/ch1/01.jpg"></div>`, []string{"/ch1/01.jpg"}},
		{"one image in a reader", `<div id="reader"><img src="/ch1/01.jpg"></div>`, []string{"/ch1/01.jpg"}},
		{"the og:image cover", `<div id="reader"><img src="/img/cover.jpg"></div>`, nil},
		{"cover among pages", `<div id="reader"><img src="/img/cover.jpg"><img src="/ch1/01.jpg"><img src="/ch1/02.jpg"></div>`, []string{"/ch1/01.jpg", "/ch1/02.jpg"}},
		{"thumbnail sizes", `<div><img src="/a/x.jpg" width="193" height="278"><img src="/a/y.jpg" width="159" height="225"></div>`, nil},
		{"WordPress resized copies", `<div><img src="/up/other-193x278.jpg"><img src="/up/third-254x140.jpg"></div>`, nil},
		{"gravatars and logos", `<div><img src="https://secure.gravatar.com/avatar/8d2f?s=96"><img src="/img/logo-dark.png"><img src="/img/logo.png"></div>`, nil},
		{"header, nav and footer", `<header><img src="/ch1/01.jpg"></header><nav><img src="/ch1/02.jpg"></nav><footer><img src="/ch1/03.jpg"></footer>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, head+tc.body+"</body></html>")
			}))
			defer srv.Close()
			ch, err := resolveOne(t, newTestHandler(t, nil), srv.URL+"/read/1")
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "no chapter images found on "+srv.URL+"/read/1") {
					t.Errorf("pages %v, err %v; want no chapter images", ch, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range pageURLs(ch.Pages) {
				got = append(got, strings.TrimPrefix(u, srv.URL))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}
}

// A chapter selection with a plain page of images (one chapter, no list)
// is refused before any image is fetched, rather than ignored.
func TestGenericSelectionOnOneChapter(t *testing.T) {
	const pagePath = "/manga/solo-hero/chapter-12/"
	fs := newFixtureServer(t, map[string]string{pagePath: "gallery.html"})
	u, _ := sites.ParseURL(fs.URL + pagePath)
	_, err := newTestHandler(t, nil).Resolve(context.Background(), testEnv(), sites.Request{URL: u, Chapters: "1,10"})
	if !errors.Is(err, sites.ErrBadSelection) || !strings.Contains(err.Error(), "is one chapter") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line of ErrBadSelection", err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for p, n := range fs.hits {
		if strings.HasSuffix(p, ".jpg") && n > 0 {
			t.Errorf("image %s fetched %d times", p, n)
		}
	}
}
