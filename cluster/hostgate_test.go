package cluster_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
)

// maxInWindow is the most requests that arrived within any span of w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) > w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// runShared runs 3 jobs of 12 pages on 3 workers that each allow rate/s
// and burst to the host, sharing the limit through NATS or not, and
// returns when the site got each image request.
func runShared(t *testing.T, rate float64, burst int, shared bool) []time.Time {
	url := startNATS(t)
	s := newSite(t, 12, 0)
	for i := range 3 {
		c := connect(t, url, fmt.Sprintf("w%d", i))
		var gate func(context.Context, string, float64, int) error
		if shared {
			gate = c.HostGate()
		}
		startWorkerOn(t, c, fmt.Sprintf("w%d", i), newEnv(t, rate, burst, gate), 1)
	}
	g := cluster.NewGateway(connect(t, url, "gateway"))
	genv := newEnv(t, 1000, 50, nil)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := runJob(t, context.Background(), g, genv, fmt.Sprintf("j%d", i), s.chapter(i), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return s.times()
}

// The sum of all workers' requests to one host stays within the host's
// rate and burst: in any span w at most burst + rate·w requests (plus one
// for the time between taking a token and the request arriving). Without
// the shared bucket the same workers go over it, so the check can fail.
func TestSharedHostLimit(t *testing.T) {
	const rate, burst = 8.0, 2
	limit := func(w time.Duration) int { return burst + int(rate*w.Seconds()) + 1 }
	shared := runShared(t, rate, burst, true)
	if len(shared) != 36 {
		t.Fatalf("%d image requests, want 36", len(shared))
	}
	for _, w := range []time.Duration{250 * time.Millisecond, time.Second, 2 * time.Second} {
		got := maxInWindow(shared, w)
		t.Logf("shared: at most %d requests in %v (limit %d)", got, w, limit(w))
		if got > limit(w) {
			t.Errorf("shared: %d requests within %v, limit %d", got, w, limit(w))
		}
	}
	alone := runShared(t, rate, burst, false)
	got := maxInWindow(alone, time.Second)
	t.Logf("per worker only: at most %d requests in 1s (limit %d)", got, limit(time.Second))
	if got <= limit(time.Second) {
		t.Errorf("without the shared bucket 3 workers stayed within one host's limit (%d in 1s): the test cannot tell", got)
	}
}
