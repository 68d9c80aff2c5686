package browser

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRender renders a script-built chapter (a JSON list fetched by
// script, three images) with 1, 2 and 4 tabs, as many renders at once as
// tabs. It reports renders per second and the browser's peak memory: the
// proportional set size (PSS: resident memory, shared pages divided among
// the processes sharing them, so a tree's sum is not inflated by the
// shared binary) of the whole process tree, sampled every 50 ms; in total,
// idle before the renders, and per tab above idle. The quiet period is
// 300 ms, so a render costs at least that.
//
//	go test -run - -bench Render -benchtime 20x ./browser/
func BenchmarkRender(b *testing.B) {
	srv := chapterServer(b)
	for _, tabs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("tabs=%d", tabs), func(b *testing.B) {
			r := newResolver(b, Options{MaxTabs: tabs, QuietPeriod: 300 * time.Millisecond})
			// Start the browser outside the timing.
			if _, err := r.Resolve(b.Context(), srv.URL+"/chapter"); err != nil {
				b.Fatal(err)
			}
			idle := treePSS(r.inst)
			peak, stop := samplePSS(r.inst)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range tabs {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						res, err := r.Resolve(b.Context(), srv.URL+"/chapter")
						if err != nil || len(res.Images) != 2 {
							b.Errorf("render: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "renders/s")
			b.ReportMetric(float64(idle)/(1<<20), "idle-MiB")
			b.ReportMetric(float64(peak())/(1<<20), "peak-MiB")
			b.ReportMetric(float64(peak()-idle)/(1<<20)/float64(tabs), "MiB/tab")
		})
	}
}

// samplePSS sums the PSS of the browser's processes every 50 ms until
// stop; peak returns the highest sum seen.
func samplePSS(in *instance) (peak func() int64, stop func()) {
	var max atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if sum := treePSS(in); sum > max.Load() {
				max.Store(sum)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return max.Load, func() { close(done); <-finished }
}

func treePSS(in *instance) int64 {
	var sum int64
	for _, p := range browserProcesses(in.pid(), in.dir) {
		sum += pss(p)
	}
	return sum
}

// pss reads the PSS of pid in bytes (0 when gone).
func pss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("Pss:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.Fields(v)[0]), 10, 64)
			return kb << 10
		}
	}
	return 0
}
