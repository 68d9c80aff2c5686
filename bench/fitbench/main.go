// Command fitbench shrinks a directory of page images to a byte budget
// with fit.Shrink and prints one Markdown table row: what it reached and
// how long it took. bench/fit.sh runs it once per budget (so /usr/bin/time
// measures each run's peak RSS) and makes the pages: -gen draws scanned
// manga pages with internal/pagegen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/internal/pagegen"
)

func main() {
	dir := flag.String("dir", "/tmp/fitbench/pages", "page images")
	gen := flag.Int("gen", 0, "draw this many scanned pages (1200×1700, JPEG 95, page 2 in colour) into -dir first")
	budget := flag.String("budget", "10MiB", "byte budget of all pages")
	width := flag.Int("width", 1200, "fit_max_width")
	minQ := flag.Int("minq", 50, "fit_min_quality")
	minSSIM := flag.Float64("minssim", 0.9, "fit_min_ssim")
	flag.Parse()
	if *gen > 0 {
		generate(*dir, *gen)
		return
	}
	max, err := humanize.ParseBytes(*budget)
	if err != nil {
		log.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(*dir, "*"))
	if err != nil || len(pages) == 0 {
		log.Fatalf("no pages in %s", *dir)
	}
	sort.Strings(pages)
	out, err := os.MkdirTemp("", "fitbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	start := time.Now()
	res, err := fit.Shrink(context.Background(), pages, out, fit.Options{
		MaxBytes: max, MaxWidth: *width, MinQuality: *minQ, MinSSIM: *minSSIM, Grayscale: true,
	})
	wall := time.Since(start).Seconds()
	var cf *fit.CannotFitError
	switch {
	case errors.As(err, &cf):
		fmt.Printf("| %s | parts: %s | | | | | %.1f s |", humanize.Bytes(max), cf.Reason, wall)
	case err != nil:
		log.Fatal(err)
	default:
		q, w := "kept", "full"
		if res.Quality > 0 {
			q = fmt.Sprint(res.Quality)
		}
		if res.Width > 0 {
			w = fmt.Sprint(res.Width)
		}
		fmt.Printf("| %s | %s | %s | %s | %d of %d | %.3f (%.3f) | %.1f s |",
			humanize.Bytes(max), humanize.Bytes(res.After), q, w, res.Gray, res.Converted, res.SSIM, res.WorstSSIM, wall)
	}
}

func generate(dir string, n int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				b := pagegen.JPEG(pagegen.Scan(1200, 1700, uint64(i), i == 1), 95)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)), b, 0o644); err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
