package download

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/bench/heavytail"
)

// BenchmarkFetchHeavyTail: 200 pages of ~100 KB, 10 in flight, against a
// heavy-tailed loopback server; "sliding" is Fetch, "lockstep" the old
// design (10 at a time, each batch awaited) for comparison.
func BenchmarkFetchHeavyTail(b *testing.B) {
	const n, size, conc, seed = 200, 100_000, 10, 1
	bodies := make([][]byte, n)
	for i := range bodies {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		bodies[i] = make([]byte, size)
		for k := range bodies[i] {
			bodies[i][k] = byte(r.Uint32())
		}
		copy(bodies[i], []byte{0xFF, 0xD8, 0xFF, 0xE0})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		select {
		case <-time.After(heavytail.Latency(seed, i)):
		case <-r.Context().Done():
			return
		}
		w.Write(bodies[i])
	}))
	defer srv.Close()
	pages := make([]Page, n)
	for i := range pages {
		pages[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	opts := testOptions()
	opts.Concurrency = conc
	opts.MaxInFlight = 1000

	run := func(b *testing.B, lockstep bool) {
		f := New(opts)
		for b.Loop() {
			dir := b.TempDir()
			step := n
			if lockstep {
				step = conc
			}
			for s := 0; s < n; s += step {
				res, err := f.Fetch(context.Background(), Batch{Pages: pages[s : s+step], Dir: batchDir(b, dir, s)})
				if err != nil || res.Failed != 0 {
					b.Fatalf("Fetch: %v, %d failed", err, res.Failed)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "pages/s")
	}
	b.Run("sliding", func(b *testing.B) { run(b, false) })
	b.Run("lockstep", func(b *testing.B) { run(b, true) })
}

// batchDir gives each lock-step batch its own directory, since page file
// names restart with each job.
func batchDir(b *testing.B, dir string, s int) string {
	d := filepath.Join(dir, strconv.Itoa(s))
	if err := os.Mkdir(d, 0o755); err != nil {
		b.Fatal(err)
	}
	return d
}
