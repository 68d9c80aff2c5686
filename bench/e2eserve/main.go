// Command e2eserve serves the benchmark chapters of bench/e2e.sh,
// bench/chapters.sh and bench/storm.sh: images (the files of -dir matching -glob, in
// name order; bench/bigpng.sh serves PNGs) that answer with heavy-tailed latency, behind either a
// gallery page at /chapter (one chapter of every image) or, with
// -chapters C, a series in WEBTOON's markup whose C episodes share the
// images in order. It writes the image URLs, one per line, to -urls (for
// aria2c -i), prints the chapter or series URL, then serves until killed.
//
// With -storm-for, image requests get 429 (Retry-After: 1) for that long,
// starting -storm-after the first image request; -log records every image
// request (Unix nanoseconds, status and image index, one per line). With -bound W it
// prints the latency bound of a window of W over the images' latencies
// (seconds) and exits.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mangabot/mangabot/bench/heavytail"
)

func main() {
	dir := flag.String("dir", "/tmp/mangabot-e2e/pages", "directory of pages")
	glob := flag.String("glob", "*.jpg", "which files of -dir are pages")
	urls := flag.String("urls", "/tmp/mangabot-e2e/urls.txt", "file to write image URLs into")
	seed := flag.Uint64("seed", 1, "RNG seed of the latency model")
	chapters := flag.Int("chapters", 1, "episodes of a WEBTOON-style series sharing the images (1: a gallery at /chapter)")
	stormAfter := flag.Duration("storm-after", time.Second, "when the 429s start, after the first image request")
	stormFor := flag.Duration("storm-for", 0, "how long images answer 429 (0: never)")
	logPath := flag.String("log", "", "file to log image requests into")
	bound := flag.Int("bound", 0, "print the latency bound of this window over the images and exit")
	flag.Parse()
	files, err := filepath.Glob(filepath.Join(*dir, *glob))
	if err != nil || len(files) == 0 {
		log.Fatalf("no %s pages in %s", *glob, *dir)
	}
	sort.Strings(files)
	if *bound > 0 {
		lat := make([]time.Duration, len(files))
		for i := range lat {
			lat[i] = heavytail.Latency(*seed, i)
		}
		fmt.Printf("%.3f\n", heavytail.Bound(lat, *bound).Seconds())
		return
	}
	var logf *os.File
	if *logPath != "" {
		if logf, err = os.Create(*logPath); err != nil {
			log.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var list strings.Builder
	for i := range files {
		fmt.Fprintf(&list, "%s/img/%04d%s\n", base, i, filepath.Ext(files[i]))
	}
	if err := os.WriteFile(*urls, []byte(list.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, s string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, s)
	}
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		var page strings.Builder
		page.WriteString("<html><head><title>Bench Series Chapter 1</title></head><body><div id=\"reader\">\n")
		for i := range files {
			fmt.Fprintf(&page, "<img src=\"/img/%04d%s\">\n", i, filepath.Ext(files[i]))
		}
		page.WriteString("</div></body></html>\n")
		html(w, page.String())
	})
	per := len(files) / max(*chapters, 1)
	// The series list and episode viewers, in WEBTOON's markup (see
	// sites/webtoon/testdata).
	mux.HandleFunc("/en/fantasy/bench/list", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<html><head><meta property="og:title" content="Bench"></head><body><div class="info"><h1 class="subj">Bench</h1></div><ul id="_listUl">`)
		for ep := *chapters; ep >= 1; ep-- {
			fmt.Fprintf(&b, `<li class="_episodeItem" data-episode-no="%d"><a href="%s/en/fantasy/bench/ep-%d/viewer?title_no=1&amp;episode_no=%d"><span class="subj"><span>Ep. %d</span></span><span class="tx">#%d</span></a></li>`, ep, base, ep, ep, ep, ep)
		}
		b.WriteString(`</ul></body></html>`)
		html(w, b.String())
	})
	mux.HandleFunc("/en/fantasy/bench/", func(w http.ResponseWriter, r *http.Request) {
		ep, err := strconv.Atoi(r.URL.Query().Get("episode_no"))
		if err != nil || ep < 1 || ep > *chapters {
			http.NotFound(w, r)
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, `<html><head><meta property="og:title" content="Ep. %d"></head><body><div class="subj_info"><a class="subj">Bench</a><h1 class="subj_episode">Ep. %d</h1></div><div class="viewer_img _img_viewer_area" id="_imageList">`, ep, ep)
		for i := (ep - 1) * per; i < ep*per; i++ {
			fmt.Fprintf(&b, `<img src="https://webtoons-static.pstatic.net/image/bg_transparency.png" class="_images" data-url="%s/img/%04d%s">`, base, i, filepath.Ext(files[i]))
		}
		b.WriteString(`</div></body></html>`)
		html(w, b.String())
	})
	var mu sync.Mutex
	var first time.Time
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/img/")
		i, err := strconv.Atoi(strings.TrimSuffix(name, filepath.Ext(name)))
		if err != nil || i < 0 || i >= len(files) {
			http.NotFound(w, r)
			return
		}
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		since := now.Sub(first)
		mu.Unlock()
		status := http.StatusOK
		if *stormFor > 0 && since >= *stormAfter && since < *stormAfter+*stormFor {
			status = http.StatusTooManyRequests
		}
		if logf != nil {
			mu.Lock()
			fmt.Fprintf(logf, "%d %d %d\n", now.UnixNano(), status, i)
			mu.Unlock()
		}
		if status != http.StatusOK {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			return
		}
		select {
		case <-time.After(heavytail.Latency(*seed, i)):
		case <-r.Context().Done():
			return
		}
		http.ServeFile(w, r, files[i]) // Content-Type from the file's extension
	})
	fmt.Println(base + "/chapter")
	if *chapters > 1 {
		fmt.Println(base + "/en/fantasy/bench/list?title_no=1")
	}
	log.Fatal(http.Serve(ln, mux))
}
