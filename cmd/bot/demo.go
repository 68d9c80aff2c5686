package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/pipeline"
)

// demoPages is the length of the demo chapter.
const demoPages = 8

// cmdDemo serves a small chapter drawn at start-up (no third-party
// images, no network) from a web server on 127.0.0.1 and fetches it like
// `bot fetch` would, so that a first try shows the whole path: resolving,
// the progress bar, the PDF.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	out := fs.String("o", ".", "output directory, or a file name ending in .pdf")
	overwrite := fs.Bool("overwrite", false, "replace the file given with -o FILE.pdf if it exists")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bot demo [-o PATH] [-overwrite]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(stderr, fmt.Errorf("demo server: %w", err))
	}
	srv := &http.Server{Handler: demoSite(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	// Defaults, plus the one address the demo site listens on: the
	// fetcher refuses loopback otherwise. No config file is read, so the
	// demo works the same everywhere.
	cfg := config.Default()
	cfg.Download.AllowNetworks = []string{"127.0.0.1/32"}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, err)
	}
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		return fail(stderr, err)
	}
	url := "http://" + ln.Addr().String() + "/read/demo-chapter-1"
	return fetch(ctx, env, pipeline.Request{URL: url}, *out, *overwrite, stdout, stderr)
}

// demoSite is a reader site as the generic handler finds them: a chapter
// page with the images in a reader container, a logo to ignore, and pages
// that take a moment each so the progress shows.
func demoSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/read/demo-chapter-1", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Mangabot Demo - Chapter 1: First Light | Demo Reader</title></head>`)
		b.WriteString(`<body><header><img src="/logo.png" width="120" height="30" alt="Demo Reader"></header><div class="reading-content">`)
		for i := range demoPages {
			ext := ".png"
			if i%2 == 1 {
				ext = ".jpg"
			}
			fmt.Fprintf(&b, `<img src="/pages/%02d%s" alt="page %d">`, i+1, ext, i+1)
		}
		b.WriteString(`</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, b.String())
	})
	mux.HandleFunc("/pages/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		var ext string
		if _, err := fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/pages/"), "%02d%s", &n, &ext); err != nil || n < 1 || n > demoPages {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(150 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		img := demoPage(n)
		var buf bytes.Buffer
		if ext == ".jpg" {
			jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
			w.Header().Set("Content-Type", "image/jpeg")
		} else {
			png.Encode(&buf, img)
			w.Header().Set("Content-Type", "image/png")
		}
		w.Write(buf.Bytes())
	})
	return mux
}

// demoPage draws page n: panels with borders, a screen-tone gradient, a
// speech balloon and a page number in dots, in shades of grey.
func demoPage(n int) *image.Gray {
	const w, h = 720, 1080
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	fill := func(x0, y0, x1, y1 int, c uint8) {
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				img.SetGray(x, y, color.Gray{c})
			}
		}
	}
	// Three rows of panels, split differently on each page.
	rows := [][2]int{{40, 360}, {380, 700}, {720, 1040}}
	for r, row := range rows {
		split := 40 + (n*97+r*211)%(w-200) + 60
		for _, p := range [][2]int{{40, split - 10}, {split + 10, w - 40}} {
			x0, x1, y0, y1 := p[0], p[1], row[0], row[1]
			fill(x0, y0, x1, y1, 0x20) // border
			fill(x0+4, y0+4, x1-4, y1-4, 0xff)
			// Screen tone: dots getting denser down the panel.
			for y := y0 + 10; y < y1-10; y += 6 {
				for x := x0 + 10; x < x1-10; x += 6 {
					if (y-y0)*100/(y1-y0) > 40+(x*7+n*13)%50 {
						fill(x, y, x+2, y+2, 0x60)
					}
				}
			}
			// A speech balloon.
			cx, cy, rx, ry := (x0+x1)/2, y0+60, (x1-x0)/4, 35
			for y := cy - ry; y <= cy+ry; y++ {
				for x := cx - rx; x <= cx+rx; x++ {
					d := float64((x-cx)*(x-cx))/float64(rx*rx) + float64((y-cy)*(y-cy))/float64(ry*ry)
					switch {
					case d <= 0.9:
						img.SetGray(x, y, color.Gray{0xff})
					case d <= 1:
						img.SetGray(x, y, color.Gray{0x10})
					}
				}
			}
		}
	}
	// The page number as a row of dots at the bottom.
	for i := range n {
		fill(w/2-n*10+i*20, h-28, w/2-n*10+i*20+12, h-16, 0x10)
	}
	return img
}
