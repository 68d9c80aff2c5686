package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/pipeline"
	_ "github.com/mangabot/mangabot/sites/all"
)

// jpegPage is a noisy picture of some tens of KiB, distinct per seed.
func jpegPage(t testing.TB, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 160))
	x := uint32(seed*7919 + 1)
	for i := 0; i < len(img.Pix); i += 4 {
		x = x*1664525 + 1013904223
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x>>24), uint8(x>>16), uint8(seed*8), 255
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scrape fetches /metrics over HTTP and parses the text exposition.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample finds the metric of family name whose labels include want; ok
// false when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want ...string) (*dto.Metric, bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if got[want[i]] != want[i+1] {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value of a counter or gauge; -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m, ok := sample(fams, name, labels...)
	switch {
	case !ok:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// imageServer serves pages with faults and counts the image bytes it sent
// in full with a 2xx.
type imageServer struct {
	*httptest.Server
	mu     sync.Mutex
	served int64
	hits   map[string]int
}

func newImageServer(t *testing.T) *imageServer {
	s := &imageServer{hits: map[string]int{}}
	s.Server = httptest.NewServer(s.handler(t))
	t.Cleanup(s.Close)
	return s
}

// alsoOn127002 serves the same pages (same counts) on 127.0.0.2 as well and
// returns that server's URL: a second loopback host, with a host label of
// its own, that needs no name in /etc/hosts. Linux routes all of 127/8 to
// lo; elsewhere the test is skipped, but not under CI.
func (s *imageServer) alsoOn127002(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot listen on 127.0.0.2 (CI is set): %v", err)
		}
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	alt := httptest.NewUnstartedServer(s.Config.Handler)
	alt.Listener.Close()
	alt.Listener = ln
	alt.Start()
	t.Cleanup(alt.Close)
	return alt.URL
}

func (s *imageServer) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		n := s.hits[r.URL.Path]
		s.mu.Unlock()
		var seed int
		fmt.Sscanf(r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:], "%d", &seed)
		body := jpegPage(t, seed)
		switch {
		case strings.HasPrefix(r.URL.Path, "/limited/") && n == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case strings.HasPrefix(r.URL.Path, "/flaky/") && n == 1:
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		case strings.HasPrefix(r.URL.Path, "/cut/") && n == 1:
			// Headers promise the whole image; the connection dies
			// half-way through the body.
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case strings.HasPrefix(r.URL.Path, "/missing/"):
			http.NotFound(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/html/"):
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>not a page</body></html>")
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		if _, err := w.Write(body); err == nil {
			s.mu.Lock()
			s.served += int64(len(body))
			s.mu.Unlock()
		}
	})
}

func loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// A real Fetcher with the Observer against a loopback server: what the
// scrape shows matches what the server did and what the fetcher counted.
func TestFetcherMetrics(t *testing.T) {
	s := newImageServer(t)
	// The 429 comes from 127.0.0.2, everything else from 127.0.0.1, so
	// the host label is seen to name the right host.
	other := s.alsoOn127002(t)

	var pages []download.Page
	for i := range 6 {
		pages = append(pages, download.Page{URL: fmt.Sprintf("%s/ok/%d", s.URL, i+1)})
	}
	pages = append(pages,
		download.Page{URL: other + "/limited/7"},
		download.Page{URL: s.URL + "/flaky/8"},
		download.Page{URL: s.URL + "/cut/9"},
		download.Page{URL: s.URL + "/missing/10"},
		download.Page{URL: s.URL + "/html/11"},
	)

	m := metrics.New()
	f := download.New(download.Options{
		Rate:          10000,
		Burst:         1000,
		Concurrency:   4,
		BackoffBase:   time.Millisecond,
		BackoffMax:    5 * time.Millisecond,
		AllowNetworks: loopback(),
		Observer:      m.Observer(),
	})
	start := time.Now()
	res, err := f.Fetch(context.Background(), download.Batch{Pages: pages, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Fetch took %v: the 429's Retry-After: 1 was not honoured", time.Since(start))
	}
	if res.Failed != 2 || res.Pages[9].Err == nil || res.Pages[10].Err == nil {
		t.Fatalf("want pages 10 and 11 failed, got %d failed: %+v", res.Failed, res.Pages)
	}
	st := f.Stats()

	fams := scrape(t, m)
	if got := value(fams, "mangabot_pages_total", "result", "ok"); got != 9 {
		t.Errorf("pages ok = %v, want 9", got)
	}
	if got := value(fams, "mangabot_pages_total", "result", "failed"); got != 2 {
		t.Errorf("pages failed = %v, want 2", got)
	}
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	if got := value(fams, "mangabot_bytes_total"); got != float64(served) || got != float64(res.Bytes) {
		t.Errorf("bytes = %v, server sent %d in full, result says %d", got, served, res.Bytes)
	}
	// One retry each for the 429, the 500 and the cut body.
	if got := value(fams, "mangabot_retries_total"); got != 3 || got != float64(st.Retries) {
		t.Errorf("retries = %v, want 3 (fetcher counted %d)", got, st.Retries)
	}
	if got := value(fams, "mangabot_http_429_total", "host", "127.0.0.2"); got != 1 {
		t.Errorf("429s of 127.0.0.2 = %v, want 1", got)
	}
	if _, ok := sample(fams, "mangabot_http_429_total", "host", "127.0.0.1"); ok {
		t.Errorf("127.0.0.1 sent no 429 but has a series")
	}
	// The gauges show what the fetcher grants each host now: the 429 cut
	// 127.0.0.2's window from the configured 4 (one request in the last
	// second: its rate to the floor); 127.0.0.1's 500 and cut body too.
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		c, r, ok := f.HostState(host)
		if !ok {
			t.Fatalf("no state for %s", host)
		}
		if got := value(fams, "mangabot_host_concurrency", "host", host); got != float64(c) || c >= 4 {
			t.Errorf("host_concurrency %s = %v, fetcher grants %d, want < 4 after its errors", host, got, c)
		}
		if got := value(fams, "mangabot_host_rate", "host", host); got != r {
			t.Errorf("host_rate %s = %v, fetcher grants %v", host, got, r)
		}
	}
	if r := value(fams, "mangabot_host_rate", "host", "127.0.0.2"); r >= 10000 {
		t.Errorf("host_rate of 127.0.0.2 = %v after its 429, want below the configured 10000", r)
	}
	for code, want := range map[string]float64{"2xx": 10, "4xx": 2, "5xx": 1, "error": 1} {
		if got := value(fams, "mangabot_http_requests_total", "code", code); got != want {
			t.Errorf("requests %s = %v, want %v", code, got, want)
		}
	}
	var total float64
	for _, mm := range fams["mangabot_http_requests_total"].GetMetric() {
		total += mm.GetCounter().GetValue()
	}
	if total != float64(st.Requests) {
		t.Errorf("requests in all = %v, fetcher sent %d", total, st.Requests)
	}
	h, ok := sample(fams, "mangabot_page_seconds")
	if !ok || h.Histogram == nil {
		t.Fatal("no mangabot_page_seconds histogram")
	}
	if n := h.Histogram.GetSampleCount(); n != 11 {
		t.Errorf("page_seconds count = %d, want 11 (one per page)", n)
	}
	// The 429'd page waited a second; the sum shows it.
	if sum := h.Histogram.GetSampleSum(); sum < 1 {
		t.Errorf("page_seconds sum = %v, want at least the 1 s Retry-After", sum)
	}
	bounds := h.Histogram.GetBucket()
	if len(bounds) == 0 || bounds[0].GetUpperBound() > 0.01 || bounds[len(bounds)-1].GetUpperBound() < 60 {
		t.Errorf("page_seconds buckets do not span 10 ms to 60 s: %v", bounds)
	}

	// A second run over the same directory resumes every complete page:
	// nothing is fetched, so nothing more is counted.
	pagesBefore := value(fams, "mangabot_pages_total", "result", "ok")
	dir := t.TempDir()
	okPages := pages[:6]
	if _, err := f.Fetch(context.Background(), download.Batch{Pages: okPages, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(context.Background(), download.Batch{Pages: okPages, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, m)
	if got := value(fams, "mangabot_pages_total", "result", "ok"); got != pagesBefore+6 {
		t.Errorf("after a fetch and a resume of 6 pages: pages ok = %v, want %v", got, pagesBefore+6)
	}
}

// Pages of a cancelled job that were in flight are neither ok nor failed.
func TestCancelledPagesNotCounted(t *testing.T) {
	release := make(chan struct{})
	twoStarted := make(chan struct{}) // closed by the 2nd request
	var started atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started.Add(1) == 2 {
			close(twoStarted)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	m := metrics.New()
	f := download.New(download.Options{Rate: 10000, Burst: 1000, Concurrency: 2, AllowNetworks: loopback(), Observer: m.Observer()})
	guard, stop := context.WithTimeout(t.Context(), time.Minute) // hang guard only
	defer stop()
	ctx, cancel := context.WithCancel(guard)
	inFlight := make(chan bool, 1)
	go func() {
		// Cancel once both pages are in flight; the guard ends the wait
		// (and Fetch) if they never are.
		select {
		case <-twoStarted:
			inFlight <- true
		case <-guard.Done():
			inFlight <- false
		}
		cancel()
	}()
	pages := []download.Page{{URL: srv.URL + "/1"}, {URL: srv.URL + "/2"}, {URL: srv.URL + "/3"}}
	if _, err := f.Fetch(ctx, download.Batch{Pages: pages, Dir: t.TempDir()}); err == nil {
		t.Fatal("cancelled Fetch returned no error")
	}
	if !<-inFlight {
		t.Fatal("two pages were never in flight together")
	}
	fams := scrape(t, m)
	if ok, failed := value(fams, "mangabot_pages_total", "result", "ok"), value(fams, "mangabot_pages_total", "result", "failed"); ok != 0 || failed != 0 {
		t.Errorf("cancelled job counted pages: ok %v, failed %v", ok, failed)
	}
	if got := value(fams, "mangabot_http_requests_total", "code", "error"); got > 0 {
		t.Errorf("our own cancellation counted as %v request errors", got)
	}
}

// webtoon serves a one-episode WEBTOON series of three pages; the WEBTOON
// handler is pointed at it with base_url.
func webtoon(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/en/fantasy/keeper/ep-1/viewer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><meta property="og:title" content="Ep. 1"></head><body><div class="subj_info"><a class="subj">Keeper</a><h1 class="subj_episode">Ep. 1</h1></div><div class="viewer_img _img_viewer_area" id="_imageList">`)
		for p := 1; p <= 3; p++ {
			fmt.Fprintf(w, `<img class="_images" data-url="%s/img/%d.jpg">`, srv.URL, p)
		}
		fmt.Fprint(w, `</div></body></html>`)
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/img/"), "%d", &n)
		w.Write(jpegPage(t, n))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// A pipeline run built with the metrics' hooks shows its PDF build time
// and its pages in the scrape.
// episode is a pipeline with m's hooks and the plan of the fake webtoon
// episode (3 pages).
func episode(t *testing.T, m *metrics.Metrics, req pipeline.Request) (*pipeline.Env, *pipeline.Plan) {
	t.Helper()
	srv := webtoon(t)
	cfg, err := config.Parse(fmt.Sprintf("[download]\nallow_networks = [\"127.0.0.0/8\"]\n[sites.webtoon]\nbase_url = %q\n", srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	env, err := pipeline.New(cfg, m.PipelineOptions())
	if err != nil {
		t.Fatal(err)
	}
	req.URL = srv.URL + "/en/fantasy/keeper/ep-1/viewer?title_no=7&episode_no=1"
	plan, err := env.Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return env, plan
}

func TestPipelineMetrics(t *testing.T) {
	m := metrics.New()
	env, plan := episode(t, m, pipeline.Request{})
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m)
	h, ok := sample(fams, "mangabot_pdf_build_seconds")
	if !ok || h.Histogram == nil {
		t.Fatal("no mangabot_pdf_build_seconds histogram")
	}
	if n := h.Histogram.GetSampleCount(); n != uint64(len(out.Files)) || n != 1 {
		t.Errorf("pdf_build_seconds count = %d, want 1 (files %v)", n, out.Files)
	}
	if h.Histogram.GetSampleSum() <= 0 {
		t.Errorf("pdf_build_seconds sum = %v", h.Histogram.GetSampleSum())
	}
	if got := value(fams, "mangabot_pages_total", "result", "ok"); got != 3 {
		t.Errorf("pages ok = %v, want 3", got)
	}
}

// A file shrunk to fit reports its similarity; one that cannot be gives
// way to parts and is counted so.
func TestFitMetrics(t *testing.T) {
	m := metrics.New()
	env, plan := episode(t, m, pipeline.Request{Fit: pipeline.FitShrink})
	full, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if value(scrape(t, m), "mangabot_fit_total", "result", "shrunk") != 0 {
		t.Fatal("counted a fit without a size limit")
	}
	env.PDF.MaxFileBytes = full.Bytes * 8 / 10
	out, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	env.PDF.MaxFileBytes = pdf.MinFileBytes
	// Whether parts this small can be written does not matter: the
	// fallback is counted before the writer runs.
	_, _ = env.Run(context.Background(), plan, pipeline.RunOptions{Dir: t.TempDir()})
	fams := scrape(t, m)
	if got := value(fams, "mangabot_fit_total", "result", "shrunk"); got != 1 || len(out.Fitted) != 1 {
		t.Fatalf("shrunk = %v, fitted %v (notes %v)", got, out.Fitted, out.Notes)
	}
	if got := value(fams, "mangabot_fit_total", "result", "parts"); got != 1 {
		t.Errorf("parts = %v, want 1", got)
	}
	h, ok := sample(fams, "mangabot_fit_similarity")
	if !ok || h.Histogram.GetSampleCount() != 1 || h.Histogram.GetSampleSum() != out.Fitted[0].SSIM {
		t.Errorf("similarity histogram %v, want one sample of %v", h, out.Fitted[0].SSIM)
	}
}

func TestJobsAndQueue(t *testing.T) {
	m := metrics.New()
	fams := scrape(t, m)
	// Every state is there from the start, at zero.
	for _, s := range []string{"queued", "running"} {
		if got := value(fams, "mangabot_jobs", "state", s); got != 0 {
			t.Errorf("fresh jobs{%s} = %v, want 0", s, got)
		}
	}
	for _, s := range []string{"done", "failed", "cancelled"} {
		if got := value(fams, "mangabot_jobs_finished_total", "state", s); got != 0 {
			t.Errorf("fresh jobs_finished{%s} = %v, want 0", s, got)
		}
	}
	if got := value(fams, "mangabot_gateway_connected"); got != 0 {
		t.Errorf("fresh gateway_connected = %v", got)
	}

	for _, id := range []string{"a", "b", "c", "d"} {
		m.JobQueued(id)
	}
	m.SetQueueLength(4)
	m.JobStarted("a")
	m.JobStarted("b")
	m.SetQueueLength(2)
	m.JobFinished("a", metrics.StateDone)
	m.JobFinished("c", metrics.StateCancelled)
	m.JobFinished("hit", metrics.StateDone) // never queued (cache hit): finished only
	m.JobFinished("d", "weird")             // unknown state: failed
	m.JobQueued("b")                        // already running: ignored
	m.JobQueued("p")
	m.JobStarted("p")
	m.JobPaused("p") // shutdown: leaves the gauges, is not finished
	m.SetQueueLength(1)
	m.SetGatewayConnected(true)

	fams = scrape(t, m)
	for _, c := range []struct {
		name, state string
		want        float64
	}{
		{"mangabot_jobs", "queued", 0},
		{"mangabot_jobs", "running", 1},
		{"mangabot_jobs_finished_total", "done", 2},
		{"mangabot_jobs_finished_total", "failed", 1},
		{"mangabot_jobs_finished_total", "cancelled", 1},
	} {
		if got := value(fams, c.name, "state", c.state); got != c.want {
			t.Errorf("%s{state=%q} = %v, want %v", c.name, c.state, got, c.want)
		}
	}
	if got := value(fams, "mangabot_queue_length"); got != 1 {
		t.Errorf("queue_length = %v, want 1", got)
	}
	if got := value(fams, "mangabot_gateway_connected"); got != 1 {
		t.Errorf("gateway_connected = %v, want 1", got)
	}
	// The runtime collectors are in the same registry.
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no go_goroutines: Go collector missing")
	}
}

// A nil *Metrics is a valid no-op: the bot may run without metrics.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.JobQueued("x")
	m.JobStarted("x")
	m.JobFinished("x", metrics.StateDone)
	m.SetQueueLength(3)
	m.SetGatewayConnected(true)
	m.Observe("pdf", time.Second)
	if m.GatewayConnected() {
		t.Error("nil Metrics says connected")
	}
	if m.Observer() != nil {
		t.Error("nil Metrics gives a non-nil Observer")
	}
	if o := m.PipelineOptions(); o.Observer != nil || o.Observe != nil {
		t.Error("nil Metrics gives hooks")
	}
}

func TestHealth(t *testing.T) {
	m := metrics.New()
	srv := httptest.NewServer(metrics.Health(m.GatewayConnected))
	defer srv.Close()
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		return resp.StatusCode, strings.TrimSpace(line)
	}
	if code, body := get(); code != 503 || body != `{"gateway":"disconnected"}` {
		t.Errorf("before connecting: %d %s", code, body)
	}
	m.SetGatewayConnected(true)
	if code, body := get(); code != 200 || body != `{"gateway":"connected"}` {
		t.Errorf("connected: %d %s", code, body)
	}
	m.SetGatewayConnected(false)
	if code, body := get(); code != 503 || body != `{"gateway":"disconnected"}` {
		t.Errorf("after a disconnect: %d %s", code, body)
	}
	resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d", resp.StatusCode)
	}
	// No func at all: never healthy.
	rec := httptest.NewRecorder()
	metrics.Health(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Errorf("Health(nil): %d", rec.Code)
	}
}

// QueueLengthFunc and GatewayFunc are read at each scrape and health check.
func TestFuncSources(t *testing.T) {
	m := metrics.New()
	var queue atomic.Int64
	var up atomic.Bool
	m.SetQueueLength(9)
	m.SetGatewayConnected(true)
	m.QueueLengthFunc(func() int { return int(queue.Load()) })
	m.GatewayFunc(up.Load)
	health := httptest.NewServer(metrics.Health(m.GatewayConnected))
	defer health.Close()
	check := func(wantQueue float64, wantUp bool) {
		t.Helper()
		fams := scrape(t, m)
		if got := value(fams, "mangabot_queue_length"); got != wantQueue {
			t.Errorf("queue_length = %v, want %v", got, wantQueue)
		}
		wantGauge, wantCode := 0.0, 503
		if wantUp {
			wantGauge, wantCode = 1, 200
		}
		if got := value(fams, "mangabot_gateway_connected"); got != wantGauge {
			t.Errorf("gateway_connected = %v, want %v", got, wantGauge)
		}
		resp, err := http.Get(health.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != wantCode {
			t.Errorf("/healthz %d, want %d", resp.StatusCode, wantCode)
		}
	}
	check(0, false) // the funcs win over the values set before
	queue.Store(3)
	up.Store(true)
	check(3, true)
	up.Store(false)
	check(3, false)
}
