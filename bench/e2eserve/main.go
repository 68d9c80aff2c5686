// Command e2eserve serves a chapter for bench/e2e.sh and bench/bigpng.sh: a
// gallery page at /chapter whose images (the files of -dir matching -glob,
// in name order) answer
// with heavy-tailed latency. It writes the image URLs, one per line, to
// -urls (for aria2c -i) and prints the chapter URL, then serves until
// killed.
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
	"time"

	"github.com/mangabot/mangabot/bench/heavytail"
)

func main() {
	dir := flag.String("dir", "/tmp/mangabot-e2e/pages", "directory of pages")
	glob := flag.String("glob", "*.jpg", "which files of -dir are pages")
	urls := flag.String("urls", "/tmp/mangabot-e2e/urls.txt", "file to write image URLs into")
	seed := flag.Uint64("seed", 1, "RNG seed of the latency model")
	flag.Parse()
	files, err := filepath.Glob(filepath.Join(*dir, *glob))
	if err != nil || len(files) == 0 {
		log.Fatalf("no %s pages in %s", *glob, *dir)
	}
	sort.Strings(files)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var list, page strings.Builder
	page.WriteString("<html><head><title>Bench Series Chapter 1</title></head><body><div id=\"reader\">\n")
	for i := range files {
		fmt.Fprintf(&list, "%s/img/%04d%s\n", base, i, filepath.Ext(files[i]))
		fmt.Fprintf(&page, "<img src=\"/img/%04d%s\">\n", i, filepath.Ext(files[i]))
	}
	page.WriteString("</div></body></html>\n")
	if err := os.WriteFile(*urls, []byte(list.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page.String())
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/img/")
		i, err := strconv.Atoi(strings.TrimSuffix(name, filepath.Ext(name)))
		if err != nil || i < 0 || i >= len(files) {
			http.NotFound(w, r)
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
	log.Fatal(http.Serve(ln, mux))
}
