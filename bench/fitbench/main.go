// Command fitbench shrinks page images to a byte budget
// with fit.Shrink and prints one Markdown table row: what it reached and
// how long it took. bench/fit.sh runs it once per budget (so /usr/bin/time
// measures each run's peak RSS) on pages bench/pdfgen draws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/humanize"
)

func main() {
	// The config's defaults; the budget is a size as people write it.
	o := fit.Options{Grayscale: true}
	flag.IntVar(&o.MaxWidth, "width", 1200, "fit_max_width")
	flag.IntVar(&o.MinQuality, "minq", 50, "fit_min_quality")
	flag.Float64Var(&o.MinSSIM, "minssim", 0.9, "fit_min_ssim")
	flag.Func("budget", "byte budget of all pages, e.g. 10MiB", func(v string) (err error) {
		o.MaxBytes, err = humanize.ParseBytes(v)
		return err
	})
	flag.Parse()
	pages := flag.Args() // in reading order
	if len(pages) == 0 || o.MaxBytes == 0 {
		log.Fatal("usage: fitbench -budget N [-width W] [-minq Q] [-minssim S] PAGE...")
	}
	budget := o.MaxBytes
	out, err := os.MkdirTemp("", "fitbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	start := time.Now()
	res, err := fit.Shrink(context.Background(), pages, out, o)
	wall := time.Since(start).Seconds()
	var cf *fit.CannotFitError
	switch {
	case errors.As(err, &cf):
		fmt.Printf("| %s | parts: %s | | | | | %.1f s |", humanize.Bytes(budget), cf.Reason, wall)
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
			humanize.Bytes(budget), humanize.Bytes(res.After), q, w, res.Gray, res.Converted, res.SSIM, res.WorstSSIM, wall)
	}
}
