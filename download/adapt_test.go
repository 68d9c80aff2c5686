package download

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestAdaptive429: a host that answers 429 for a while sees fewer requests
// in flight and a lower request rate within the storm, every page still
// arrives (429s are waited out, not counted as retries), and once it answers again the fetcher goes
// back to (at least) the configured window, and to the configured rate.
func TestAdaptive429(t *testing.T) {
	img := jpegBytes(t, 3)
	const pages, storm = 300, 1500 * time.Millisecond
	var (
		mu        sync.Mutex
		okBefore  int
		stormFrom time.Time
		times     []time.Time // every request, when it arrived
		minConc   = 1 << 30
		minRate   = 1e18
		f         *Fetcher
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		c, rt, _ := f.HostState("127.0.0.1")
		mu.Lock()
		times = append(times, now)
		inStorm := false
		switch {
		case okBefore < 40:
			okBefore++
		case stormFrom.IsZero():
			stormFrom, inStorm = now, true
		default:
			inStorm = now.Sub(stormFrom) < storm
		}
		if inStorm {
			minConc, minRate = min(minConc, c), min(minRate, rt)
		}
		mu.Unlock()
		if inStorm {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		time.Sleep(2 * time.Millisecond)
		w.Write(img)
	}))
	defer srv.Close()
	o := testOptions()
	f = New(o)
	var list []Page
	for i := range pages {
		list = append(list, Page{URL: fmt.Sprintf("%s/p/%d", srv.URL, i)})
	}
	res, err := f.Fetch(context.Background(), Batch{Pages: list, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		t.Fatalf("%d pages failed: %v", res.Failed, res.Pages)
	}
	mu.Lock()
	from := stormFrom
	all := append([]time.Time(nil), times...)
	lowC, lowR := minConc, minRate
	mu.Unlock()
	if from.IsZero() {
		t.Fatal("the storm never began")
	}
	if lowC >= o.Concurrency {
		t.Errorf("requests in flight stayed at %d during the 429s; want fewer than %d", lowC, o.Concurrency)
	}
	if lowR >= o.Rate {
		t.Errorf("rate granted stayed at %v during the 429s; want below the configured %v", lowR, o.Rate)
	}
	// Requests in the storm's last half against an equal span before it:
	// the cuts must have slowed the fetcher down by far.
	half := storm / 2
	count := func(a, b time.Time) int {
		n := 0
		for _, tm := range all {
			if !tm.Before(a) && tm.Before(b) {
				n++
			}
		}
		return n
	}
	firstReq := all[0]
	before := count(firstReq, from)
	span := from.Sub(firstReq)
	late := count(from.Add(storm-half), from.Add(storm))
	// Rates per second, so the spans need not be equal.
	rBefore := float64(before) / span.Seconds()
	rLate := float64(late) / half.Seconds()
	t.Logf("requests/s: %.0f before the 429s, %.0f in their last %v; %d requests in all", rBefore, rLate, half, len(all))
	if rLate*4 > rBefore {
		t.Errorf("requests/s late in the 429s = %.0f, before = %.0f: want at least 4× fewer", rLate, rBefore)
	}
	// Recovery: the host answers again; more work brings the fetcher back
	// to the configured window and rate. (The wait is a guard, not a
	// timing assertion.)
	waitFor(t, 20*time.Second, "recovery to the configured limits", func() bool {
		if _, err := f.Fetch(context.Background(), Batch{Pages: list[:20], Dir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		c, r, _ := f.HostState("127.0.0.1")
		return c >= o.Concurrency && r == o.Rate
	})
}

// TestAdaptiveCeiling: a host's window never grows past what its rate and
// burst grant in a second, however stable its latency; and a host limit
// set later moves it.
func TestAdaptiveCeiling(t *testing.T) {
	img := jpegBytes(t, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(img) }))
	defer srv.Close()
	o := testOptions()
	o.Concurrency = 8
	o.HostLimits = []HostLimit{{Host: "127.0.0.1", Rate: 2, Burst: 1}}
	f := New(o)
	pages := []Page{{URL: srv.URL + "/a"}, {URL: srv.URL + "/b"}, {URL: srv.URL + "/c"}}
	if _, err := f.Fetch(context.Background(), Batch{Pages: pages, Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if c, r, _ := f.HostState("127.0.0.1"); c != 3 || r != 2 {
		t.Errorf("host state = %d in flight at %v/s; want 3 (rate 2 + burst 1) at 2/s", c, r)
	}
	f.SetHostLimits(HostLimit{Host: "127.0.0.1", Rate: 100, Burst: 10})
	if c, r, _ := f.HostState("127.0.0.1"); c != 8 || r != 100 {
		t.Errorf("after SetHostLimits: %d in flight at %v/s; want the window 8 at 100/s", c, r)
	}
}

// TestAdaptiveCap: requests in flight to one host stay within its window
// across jobs: four jobs of window 4 share it, and it grows with stable
// latency only up to twice the job window.
func TestAdaptiveCap(t *testing.T) {
	img := jpegBytes(t, 5)
	var mu sync.Mutex
	cur, peak := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		w.Write(img)
		mu.Lock()
		cur--
		mu.Unlock()
	}))
	defer srv.Close()
	o := testOptions()
	f := New(o)
	var wg sync.WaitGroup
	for j := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var list []Page
			for i := range 40 {
				list = append(list, Page{URL: fmt.Sprintf("%s/%d/%d", srv.URL, j, i)})
			}
			if _, err := f.Fetch(context.Background(), Batch{Pages: list, Dir: t.TempDir()}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak > 2*o.Concurrency {
		t.Errorf("%d requests in flight to one host; its window is at most %d", peak, 2*o.Concurrency)
	}
	if peak <= o.Concurrency/2 {
		t.Errorf("at most %d requests in flight: the jobs did not run side by side", peak)
	}
}
