package download

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFetchChapter runs a 30-page chapter where pages fail in every way the
// issue lists, and checks results, files, progress, reports and stats.
func TestFetchChapter(t *testing.T) {
	const n = 30
	imgs := make([][]byte, n)
	for i := range imgs {
		if i%2 == 0 {
			imgs[i] = jpegBytes(t, i)
		} else {
			imgs[i] = pngBytes(t, i)
		}
	}
	var (
		mu        sync.Mutex
		hits      = map[int]int{}
		firstAt   = map[int]time.Time{} // when the 429 was sent
		retryAt   = map[int]time.Time{}
		rlUntil   time.Time // X-RateLimit-Retry-After sent
		badHeader []string
		total     atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 || i >= n {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hits[i]++
		c := hits[i]
		wantUA := "mangabot-test/1"
		if i == 1 {
			wantUA = "custom-agent/2"
			if r.Header.Get("Referer") != "https://example.org/chapter" {
				badHeader = append(badHeader, "page 1 Referer "+r.Header.Get("Referer"))
			}
		}
		if ua := r.UserAgent(); ua != wantUA {
			badHeader = append(badHeader, fmt.Sprintf("page %d User-Agent %q", i, ua))
		}
		for _, h := range []string{"Via", "Authorization"} {
			if r.Header.Get(h) != "" {
				badHeader = append(badHeader, h+" sent")
			}
		}
		if c == 2 && (i == 5 || i == 9) {
			retryAt[i] = time.Now()
		}
		mu.Unlock()

		switch {
		case (i == 3 || i == 7) && c <= 2:
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case i == 5 && c == 1:
			mu.Lock()
			firstAt[i] = time.Now()
			mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case i == 9 && c == 1:
			until := time.Now().Unix() + 1
			mu.Lock()
			rlUntil = time.Unix(until, 0)
			mu.Unlock()
			w.Header().Set("X-RateLimit-Retry-After", strconv.FormatInt(until, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case i == 11 && c == 1:
			// Reset before any response.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case i == 12 && c == 1:
			// Cut the body in the middle: headers sent, half the bytes.
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", len(imgs[i]))
				buf.Write(imgs[i][:len(imgs[i])/2])
				buf.Flush()
				conn.Close()
			}
			return
		case i == 13:
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>Cloudflare says no</body></html>")
			return
		case i == 15:
			// No Content-Length: only the limited copy can catch it.
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(imgs[0][:3])
			w.(http.Flusher).Flush()
			w.Write(bytes.Repeat([]byte{0xAB}, 100<<10))
			return
		case i == 16:
			w.Header().Set("Content-Length", strconv.Itoa(10<<20))
			w.Write(imgs[0])
			return
		case i == 17:
			http.NotFound(w, r)
			return
		}
		if i%3 == 0 {
			w.Header().Set("X-Cache", "HIT from node")
		}
		w.Header().Set("Content-Type", "image/webp") // a lie; sniffing decides
		w.Write(imgs[i])
	}))
	defer srv.Close()

	opts := testOptions()
	opts.Concurrency = 6
	opts.MaxImageBytes = 64 << 10
	f := New(opts)
	dir := t.TempDir()
	pages := make([]Page, n)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	pages[1].Header = http.Header{"User-Agent": {"custom-agent/2"}, "Referer": {"https://example.org/chapter"}}

	var (
		progress []Progress
		inCall   atomic.Bool
		inReport atomic.Bool
		repMu    sync.Mutex
		reports  []FetchReport
	)
	job := Batch{
		Pages: pages,
		Dir:   dir,
		Progress: func(p Progress) {
			if !inCall.CompareAndSwap(false, true) {
				t.Error("Progress called concurrently")
			}
			progress = append(progress, p)
			inCall.Store(false)
		},
		Report: func(r FetchReport) {
			if !inReport.CompareAndSwap(false, true) {
				t.Error("Report called concurrently")
			}
			defer inReport.Store(false)
			repMu.Lock()
			reports = append(reports, r)
			repMu.Unlock()
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := f.Fetch(ctx, job)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}

	failures := map[int]string{
		13: "not an image (text/html)",
		15: "too large (> 64 KiB)",
		16: "too large (> 64 KiB)",
		17: "HTTP 404",
	}
	var wantBytes int64
	var wantFiles []string
	cachedWant := 0
	for i, r := range res.Pages {
		if r.Index != i {
			t.Errorf("page %d: Index %d", i, r.Index)
		}
		if want, bad := failures[i]; bad {
			if reasonOf(r) != want {
				t.Errorf("page %d: reason %q, want %q", i, reasonOf(r), want)
			}
			if r.Path != "" {
				t.Errorf("page %d failed but has path %s", i, r.Path)
			}
			continue
		}
		if r.Err != nil {
			t.Errorf("page %d: %v", i, r.Err)
			continue
		}
		ext, typ := ".png", "png"
		if i%2 == 0 {
			ext, typ = ".jpg", "jpeg"
		}
		if want := PageFile(dir, i) + ext; r.Path != want || r.Type != typ {
			t.Errorf("page %d: path %s type %s, want %s %s", i, r.Path, r.Type, want, typ)
		}
		got, err := os.ReadFile(r.Path)
		if err != nil || !bytes.Equal(got, imgs[i]) || r.Bytes != int64(len(imgs[i])) {
			t.Errorf("page %d: file differs from the served bytes (err %v)", i, err)
		}
		wantBytes += int64(len(imgs[i]))
		wantFiles = append(wantFiles, filepath.Base(r.Path))
		if i%3 == 0 {
			cachedWant++
		}
	}
	if e := res.Pages[17].Err.(*PageError); e.Status != 404 {
		t.Errorf("404 page: Status %d", e.Status)
	}
	if res.Failed != 4 || res.Bytes != wantBytes {
		t.Errorf("result: Failed %d Bytes %d, want 4 %d", res.Failed, res.Bytes, wantBytes)
	}
	if got := dirNames(t, dir); strings.Join(got, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("dir holds %v, want %v", got, wantFiles)
	}

	// Progress: one at the start, one per page, never going back.
	if len(progress) != n+1 || progress[0].Last != nil || progress[0].Total != n {
		t.Fatalf("progress: %d calls, first %+v", len(progress), progress[0])
	}
	for k := 1; k < len(progress); k++ {
		a, b := progress[k-1], progress[k]
		if b.Done < a.Done || b.Failed < a.Failed || b.Bytes < a.Bytes || b.Done+b.Failed != k || b.Last == nil {
			t.Errorf("progress %d not monotonic: %+v after %+v", k, b, a)
		}
		if b.Last != nil && b.Last.Err != nil && reasonOf(*b.Last) != failures[b.Last.Index] {
			t.Errorf("progress reason for page %d: %q", b.Last.Index, reasonOf(*b.Last))
		}
	}
	if last := progress[n]; last.Done != 26 || last.Failed != 4 || last.Bytes != wantBytes {
		t.Errorf("final progress %+v", last)
	}

	// Retry-After and X-RateLimit-Retry-After were waited out.
	mu.Lock()
	if gap := retryAt[5].Sub(firstAt[5]); gap < time.Second {
		t.Errorf("page 5 retried %v after a 429 with Retry-After: 1", gap)
	}
	if retryAt[9].Before(rlUntil) {
		t.Errorf("page 9 retried at %v, before X-RateLimit-Retry-After %v", retryAt[9], rlUntil)
	}
	for _, h := range badHeader {
		t.Error("header:", h)
	}
	if hits[13] != 1 || hits[17] != 1 || hits[16] != 1 {
		t.Errorf("non-retryable failures were retried: %d %d %d", hits[13], hits[17], hits[16])
	}
	mu.Unlock()

	st := f.Stats()
	// 2+2 (500s) + 1 + 1 (429s) + 1 (cut body) + 0 or 1 for the reset:
	// Go's transport itself replays a request whose reused connection
	// was closed unanswered, so that one is ours only on a fresh one.
	if st.Retries < 7 || st.Retries > 8 {
		t.Errorf("Stats.Retries %d, want 7 or 8", st.Retries)
	}
	if st.RateLimited["127.0.0.1"] != 2 || st.Pages != 26 || st.Bytes != wantBytes {
		t.Errorf("stats %+v", st)
	}
	if st.Requests > total.Load() || st.Requests < total.Load()-1 {
		t.Errorf("Stats.Requests %d, server saw %d", st.Requests, total.Load())
	}
	// One report per request we made, failures included.
	ok, cached := 0, 0
	for _, r := range reports {
		if r.Success {
			ok++
			if r.Bytes <= 0 {
				t.Errorf("report without bytes: %+v", r)
			}
		}
		if r.Cached {
			cached++
		}
	}
	if int64(len(reports)) != st.Requests || ok != 26 || cached != cachedWant {
		t.Errorf("reports: %d (requests %d), %d ok, %d cached (want %d)", len(reports), st.Requests, ok, cached, cachedWant)
	}
}

// TestSlidingWindow: page 0 is held until every other page was served. With
// lock-step batches page 0's batch could never finish and this would hang
// until the deadline.
func TestSlidingWindow(t *testing.T) {
	const n = 12
	img := jpegBytes(t, 1)
	var served atomic.Int32
	allServed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/p/0" {
			select {
			case <-allServed:
			case <-r.Context().Done():
				return
			}
		}
		w.Write(img)
		if r.URL.Path != "/p/0" && served.Add(1) == n-1 {
			close(allServed)
		}
	}))
	defer srv.Close()
	opts := testOptions()
	opts.Concurrency = 3
	f := New(opts)
	pages := make([]Page, n)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Fetch(ctx, Batch{Pages: pages, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Fetch: %v (a slow page blocked the others)", err)
	}
	if res.Failed != 0 {
		t.Fatalf("%d pages failed", res.Failed)
	}
}

// maxConcurrency is a handler that records how many requests it serves at
// once. The first requests are held until `want` are in flight together
// (no deadline: a window smaller than want hangs them until the test's
// context gives up, and the test fails); from then on requests pass
// straight through.
type maxConcurrency struct {
	cur, max atomic.Int32
	want     int32
	body     []byte
	once     sync.Once
	reached  chan struct{} // closed when cur first reaches want
}

func newMaxConcurrency(want int32, body []byte) *maxConcurrency {
	return &maxConcurrency{want: want, body: body, reached: make(chan struct{})}
}

func (m *maxConcurrency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := m.cur.Add(1)
	defer m.cur.Add(-1)
	for {
		old := m.max.Load()
		if c <= old || m.max.CompareAndSwap(old, c) {
			break
		}
	}
	if c >= m.want {
		m.once.Do(func() { close(m.reached) })
	}
	select {
	case <-m.reached:
	case <-r.Context().Done():
		return
	}
	w.Write(m.body)
}

func TestConcurrencyCap(t *testing.T) {
	h := newMaxConcurrency(3, jpegBytes(t, 2))
	srv := httptest.NewServer(h)
	defer srv.Close()
	opts := testOptions()
	opts.Concurrency = 3
	f := New(opts)
	pages := make([]Page, 15)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard only
	defer cancel()
	res, err := f.Fetch(ctx, Batch{Pages: pages, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("Fetch: %v, %d failed (max concurrent requests %d, want 3)", err, failedOf(res), h.max.Load())
	}
	if got := h.max.Load(); got != 3 {
		t.Errorf("max concurrent requests %d, want 3", got)
	}
}

// TestMaxInFlight: two jobs of 4 each share a process-wide cap of 3.
func TestMaxInFlight(t *testing.T) {
	h := newMaxConcurrency(3, jpegBytes(t, 3))
	srv := httptest.NewServer(h)
	defer srv.Close()
	opts := testOptions()
	opts.Concurrency = 4
	opts.MaxInFlight = 3
	f := New(opts)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard only
	defer cancel()
	var wg sync.WaitGroup
	for j := range 2 {
		pages := make([]Page, 8)
		for i := range pages {
			pages[i].URL = fmt.Sprintf("%s/j%d/%d", srv.URL, j, i)
		}
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.Fetch(ctx, Batch{Pages: pages, Dir: dir})
			if err != nil || res.Failed != 0 {
				t.Errorf("Fetch: %v, %d failed (max concurrent requests %d, want 3)", err, failedOf(res), h.max.Load())
			}
		}()
	}
	wg.Wait()
	if got := h.max.Load(); got != 3 {
		t.Errorf("max concurrent requests %d, want 3", got)
	}
}

// failedOf is res.Failed, or -1 without a result.
func failedOf(res *Result) int {
	if res == nil {
		return -1
	}
	return res.Failed
}

// TestCancel cancels while bodies are half received: Fetch returns
// context.Canceled, the server sees its requests cancelled, no file stays.
func TestCancel(t *testing.T) {
	img := jpegBytes(t, 4)
	var started, cancelled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		w.Write(img[:600]) // past the 512 sniffed bytes: a temp file exists
		w.(http.Flusher).Flush()
		started.Add(1)
		<-r.Context().Done()
		cancelled.Add(1)
	}))
	defer srv.Close()
	opts := testOptions()
	opts.Concurrency = 4
	f := New(opts)
	pages := make([]Page, 10)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.Fetch(ctx, Batch{Pages: pages, Dir: dir})
		done <- err
	}()
	waitFor(t, 10*time.Second, "4 temp files", func() bool { return started.Load() == 4 && len(tempFiles(t, dir)) == 4 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch did not return after cancel")
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("files left after cancel: %v", names)
	}
	waitFor(t, 10*time.Second, "server-side cancellation", func() bool { return cancelled.Load() == 4 })
	if started.Load() != 4 {
		t.Errorf("%d requests started after cancel", started.Load()-4)
	}
}

// TestResume: pages already complete in Dir are kept and not requested.
func TestResume(t *testing.T) {
	imgs := [][]byte{jpegBytes(t, 0), pngBytes(t, 1), jpegBytes(t, 2), pngBytes(t, 3)}
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		w.Write(imgs[i])
	}))
	defer srv.Close()
	dir := t.TempDir()
	// Pages 1 and 2 were fetched by an earlier run; a stale temp file of
	// page 3 must not count.
	os.WriteFile(PageFile(dir, 1)+".png", imgs[1], 0o644)
	os.WriteFile(PageFile(dir, 2)+".jpg", imgs[2], 0o644)
	os.WriteFile(filepath.Join(dir, ".page-0004-123.tmp"), imgs[3][:100], 0o644)
	pages := make([]Page, 4)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	f := New(testOptions())
	var last Progress
	res, err := f.Fetch(context.Background(), Batch{Pages: pages, Dir: dir, Progress: func(p Progress) { last = p }})
	if err != nil || res.Failed != 0 {
		t.Fatalf("Fetch: %v, %d failed", err, res.Failed)
	}
	if hits["/p/1"] != 0 || hits["/p/2"] != 0 || hits["/p/0"] != 1 || hits["/p/3"] != 1 {
		t.Errorf("requests %v: resumed pages were fetched again", hits)
	}
	if res.Pages[1].Path != PageFile(dir, 1)+".png" || res.Pages[1].Type != "png" || res.Pages[2].Bytes != int64(len(imgs[2])) {
		t.Errorf("resumed results %+v %+v", res.Pages[1], res.Pages[2])
	}
	if last.Done != 4 {
		t.Errorf("final progress %+v", last)
	}
	if f.Stats().Pages != 2 {
		t.Errorf("Stats.Pages %d, want 2 fetched", f.Stats().Pages)
	}
}

// TestRefresh: pages that failed for server reasons are retried once with
// the refreshed URLs; a 404 is not.
func TestRefresh(t *testing.T) {
	img := jpegBytes(t, 5)
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/old/2":
			http.Error(w, "node down", http.StatusBadGateway)
		case "/old/3", "/new/3":
			http.NotFound(w, r)
		default:
			w.Write(img)
		}
	}))
	defer srv.Close()
	mk := func(prefix string) []Page {
		p := make([]Page, 5)
		for i := range p {
			p[i].URL = fmt.Sprintf("%s/%s/%d", srv.URL, prefix, i)
		}
		return p
	}
	opts := testOptions()
	opts.Retries = 1
	f := New(opts)
	refreshes := 0
	var progress []Progress
	res, err := f.Fetch(context.Background(), Batch{
		Pages:    mk("old"),
		Dir:      t.TempDir(),
		Refresh:  func(context.Context) ([]Page, error) { refreshes++; return mk("new"), nil },
		Progress: func(p Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if refreshes != 1 {
		t.Errorf("Refresh called %d times", refreshes)
	}
	if res.Pages[2].Err != nil || reasonOf(res.Pages[3]) != "HTTP 404" || res.Failed != 1 {
		t.Errorf("page 2: %v, page 3: %v, failed %d", res.Pages[2].Err, res.Pages[3].Err, res.Failed)
	}
	if hits["/old/2"] != 2 || hits["/new/2"] != 1 || hits["/new/3"] != 0 || hits["/new/0"] != 0 {
		t.Errorf("requests %v", hits)
	}
	if last := progress[len(progress)-1]; last.Done != 4 || last.Failed != 1 {
		t.Errorf("final progress %+v", last)
	}
}

// TestHostPause: a 429 seen by one job holds another job's requests to the
// same host until the Retry-After time.
func TestHostPause(t *testing.T) {
	img := jpegBytes(t, 6)
	var mu sync.Mutex
	var sent429 time.Time
	var bAt time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/a/0" && sent429.IsZero() {
			sent429 = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if r.URL.Path == "/b/0" && bAt.IsZero() {
			bAt = time.Now()
		}
		w.Write(img)
	}))
	defer srv.Close()
	f := New(testOptions())
	errc := make(chan error, 1)
	go func() {
		res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/a/0"}}, Dir: t.TempDir()})
		if err == nil && res.Failed != 0 {
			err = res.Pages[0].Err
		}
		errc <- err
	}()
	waitFor(t, 10*time.Second, "the 429", func() bool { return f.Stats().RateLimited["127.0.0.1"] == 1 })
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/b/0"}}, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("job B: %v %v", err, res.Pages[0].Err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("job A: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := bAt.Sub(sent429); gap < time.Second {
		t.Errorf("job B reached the host %v after job A's 429 with Retry-After: 1", gap)
	}
}

// rateLimitedHour matches the reason of a page refused for an hour's
// Retry-After, however many seconds passed between the 429 and the check.
var rateLimitedHour = regexp.MustCompile(`^rate limited for 3[56]\d\d s$`)

// TestAbsurdRetryAfter: a host asking for an hour fails the page at once,
// and the next request to it fails without being sent.
func TestAbsurdRetryAfter(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	opts := testOptions()
	opts.Concurrency = 1 // page 2 starts after page 1's 429
	f := New(opts)
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/1"}, {URL: srv.URL + "/2"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Pages {
		if !rateLimitedHour.MatchString(reasonOf(r)) {
			t.Errorf("page %d: %q", i, reasonOf(r))
		}
	}
	if hits.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", hits.Load())
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	opts := testOptions()
	opts.HeaderTimeout = 50 * time.Millisecond
	opts.Retries = -1
	f := New(opts)
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/slow"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if reasonOf(res.Pages[0]) != "timeout" {
		t.Errorf("reason %q, want timeout", reasonOf(res.Pages[0]))
	}
}

func TestMaxPages(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	opts := testOptions()
	opts.MaxPages = 3
	f := New(opts)
	pages := make([]Page, 4)
	for i := range pages {
		pages[i].URL = srv.URL
	}
	if _, err := f.Fetch(context.Background(), Batch{Pages: pages, Dir: t.TempDir()}); err == nil {
		t.Error("4 pages accepted with MaxPages 3")
	}
	if hits.Load() != 0 {
		t.Error("requests sent for a job over MaxPages")
	}
}
