package download

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestClient: the API client sets our User-Agent only when none is given,
// adds no Via/Authorization, retries GET on 5xx but sends POST once.
func TestClient(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	var uas []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.Method+" "+r.URL.Path]++
		uas = append(uas, r.UserAgent())
		if r.Header.Get("Via") != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("%s %s carried Via/Authorization", r.Method, r.URL.Path)
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/flaky", "/report":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	opts := testOptions()
	opts.Retries = 2
	f := New(opts)
	c := f.Client()

	resp, err := c.Get(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api2", nil)
	req.Header.Set("User-Agent", "handler/3")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get("User-Agent") != "handler/3" || len(req.Header) != 1 {
		t.Errorf("caller's request changed: %v", req.Header)
	}

	resp, err = c.Get(srv.URL + "/flaky")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("flaky: %d", resp.StatusCode)
	}
	resp, err = c.Post(srv.URL+"/report", "application/json", strings.NewReader(`{"url":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	if hits["GET /flaky"] != 3 || hits["POST /report"] != 1 {
		t.Errorf("requests %v: want GET retried (3), POST once", hits)
	}
	if uas[0] != "mangabot-test/1" || uas[1] != "handler/3" {
		t.Errorf("user agents %v", uas[:2])
	}
	if st := f.Stats(); st.Retries != 2 || st.Requests != 6 {
		t.Errorf("stats %+v", st)
	}
}

// TestHostLimitPath: a Path limit binds only its prefix. With one token per
// ~3 hours, the second /at-home/ request cannot pass before the deadline
// and fails at once (x/time/rate refuses waits past the deadline) without
// being sent, while other paths on the host go through.
func TestHostLimitPath(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
	}))
	defer srv.Close()
	f := New(testOptions())
	f.SetHostLimits(HostLimit{Host: "127.0.0.1", Path: "/at-home/", Rate: 0.0001, Burst: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	get := func(path string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := f.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("/at-home/server/a"); err != nil {
		t.Fatal(err)
	}
	var rl *RateLimitError
	if err := get("/at-home/server/b"); !errors.As(err, &rl) {
		t.Errorf("second /at-home/ request: %v, want a RateLimitError", err)
	}
	for range 5 {
		if err := get("/chapter"); err != nil {
			t.Errorf("/chapter: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/at-home/server/b"] != 0 || hits["/chapter"] != 5 {
		t.Errorf("requests %v", hits)
	}
}

// TestHostLimitsConfig: Options.HostLimits replace the default bucket for
// their host; SetHostLimits updates hosts already in use.
func TestHostLimitsConfig(t *testing.T) {
	opts := testOptions()
	opts.Rate, opts.Burst = 4, 4
	opts.HostLimits = []HostLimit{
		{Host: "API.mangadex.org", Rate: 5, Burst: 5},
		{Host: "api.mangadex.org", Path: "/at-home/server/", Rate: 40.0 / 60, Burst: 40},
	}
	f := New(opts)
	check := func(host, path string, want ...rate.Limit) {
		t.Helper()
		ls := f.limiters(f.host(host), path)
		if len(ls) != len(want) {
			t.Fatalf("%s%s: %d limiters, want %d", host, path, len(ls), len(want))
		}
		for i, l := range ls {
			if l.Limit() != want[i] {
				t.Errorf("%s%s limiter %d: %v, want %v", host, path, i, l.Limit(), want[i])
			}
		}
	}
	check("api.mangadex.org", "/manga/x", 5)
	check("api.mangadex.org", "/at-home/server/abc", 5, rate.Limit(40.0/60))
	check("uploads.mangadex.org", "/data/x", 4)
	f.SetHostLimits(HostLimit{Host: "uploads.mangadex.org", Rate: 20, Burst: 20})
	check("uploads.mangadex.org", "/data/x", 20)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"120"}}, 120 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0, true},
		{http.Header{"X-Ratelimit-Retry-After": {"1772366430"}}, 30 * time.Second, true}, // now+30s
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{}, 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%v) = %v %v, want %v %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	f := New(Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	for attempt := range 40 {
		ceil := min(10*time.Millisecond<<min(attempt, 20), 50*time.Millisecond)
		for range 20 {
			if d := f.backoff(attempt); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", attempt, d, ceil)
			}
		}
	}
}

// TestHTTP2: the custom transport still negotiates HTTP/2 over TLS.
func TestHTTP2(t *testing.T) {
	img := pngBytes(t, 9)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2", http.StatusHTTPVersionNotSupported)
			return
		}
		w.Write(img)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	f := New(testOptions())
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f.base.TLSClientConfig = &tls.Config{RootCAs: pool} // trust the test CA
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/1"}, {URL: srv.URL + "/2"}}, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("Fetch: %v %v", err, res.Pages[0].Err)
	}
}
