// Command fetchbench compares the download package's sliding window with
// the old lock-step design (start 10 pages, wait for all 10, start the next
// 10) against a loopback server whose latency is heavy-tailed, as image
// CDNs are: most pages are quick, a few are very slow, and in lock-step
// every slow page stalls its whole batch.
//
//	go run ./bench/fetchbench [-pages 200] [-size 100000] [-concurrency 10] [-seed 1] [-runs 1]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mangabot/mangabot/bench/heavytail"
	"github.com/mangabot/mangabot/download"
)

// body is an image-looking (JPEG magic) page of size bytes.
func body(seed uint64, i, size int) []byte {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(i)))
	b := make([]byte, size)
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

func main() {
	pages := flag.Int("pages", 200, "pages per chapter")
	size := flag.Int("size", 100_000, "bytes per page")
	conc := flag.Int("concurrency", 10, "pages in flight (and lock-step batch size)")
	seed := flag.Uint64("seed", 1, "RNG seed of the latency model")
	runs := flag.Int("runs", 1, "runs of each design (best is reported)")
	flag.Parse()

	bodies := make([][]byte, *pages)
	for i := range bodies {
		bodies[i] = body(*seed, i, *size)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 || i >= len(bodies) {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(heavytail.Latency(*seed, i)):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(bodies[i])
	}))
	defer srv.Close()

	list := make([]download.Page, *pages)
	for i := range list {
		list[i].URL = fmt.Sprintf("%s/p/%d", srv.URL, i)
	}
	newFetcher := func() *download.Fetcher {
		return download.New(download.Options{
			UserAgent:     "mangabot-fetchbench",
			Rate:          1e6, // never binds: the design is measured, not the limiter
			Burst:         1000,
			Concurrency:   *conc,
			MaxInFlight:   1000,
			AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	sliding := func(dir string) error {
		res, err := newFetcher().Fetch(ctx, download.Batch{Pages: list, Dir: dir, NoSync: true})
		if err == nil && res.Failed > 0 {
			err = fmt.Errorf("%d pages failed: %v", res.Failed, firstErr(res))
		}
		return err
	}
	// The old design: a batch of conc pages, all awaited, then the next.
	lockstep := func(dir string) error {
		f := newFetcher()
		for b := 0; b < len(list); b += *conc {
			sub, err := os.MkdirTemp(dir, "batch")
			if err != nil {
				return err
			}
			res, err := f.Fetch(ctx, download.Batch{Pages: list[b:min(b+*conc, len(list))], Dir: sub, NoSync: true})
			if err == nil && res.Failed > 0 {
				err = fmt.Errorf("%d pages failed: %v", res.Failed, firstErr(res))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}

	type design struct {
		name string
		run  func(string) error
	}
	designs := []design{{"lock-step batches of " + strconv.Itoa(*conc), lockstep}, {"sliding window of " + strconv.Itoa(*conc), sliding}}
	best := make([]time.Duration, len(designs))
	for r := 0; r < *runs; r++ {
		for k, d := range designs {
			dir, err := os.MkdirTemp("", "fetchbench")
			if err != nil {
				log.Fatal(err)
			}
			start := time.Now()
			err = d.run(dir)
			el := time.Since(start)
			os.RemoveAll(dir)
			if err != nil {
				log.Fatalf("%s: %v", d.name, err)
			}
			if best[k] == 0 || el < best[k] {
				best[k] = el
			}
		}
	}

	var sum time.Duration
	lat := make([]time.Duration, *pages)
	for i := range *pages {
		lat[i] = heavytail.Latency(*seed, i)
		sum += lat[i]
	}
	bound := heavytail.Bound(lat, *conc)
	fmt.Printf("%d pages of %d KB, concurrency %d, seed %d; server latency: mean %v per page, best of %d run(s)\n\n",
		*pages, *size/1000, *conc, *seed, (sum / time.Duration(*pages)).Round(time.Millisecond), *runs)
	fmt.Println("| design | wall time | pages/s |")
	fmt.Println("| --- | ---: | ---: |")
	for k, d := range designs {
		fmt.Printf("| %s | %.2f s | %.1f |\n", d.name, best[k].Seconds(), float64(*pages)/best[k].Seconds())
	}
	fmt.Printf("| latency bound (window of %d, pages in order) | %.2f s | %.1f |\n", *conc, bound.Seconds(), float64(*pages)/bound.Seconds())
	fmt.Printf("\nspeed-up of the sliding window: %.2f×; sliding window / bound: %.2f×\n", best[0].Seconds()/best[1].Seconds(), best[1].Seconds()/bound.Seconds())
}

func firstErr(res *download.Result) error {
	for _, p := range res.Pages {
		if p.Err != nil {
			return p.Err
		}
	}
	return nil
}
