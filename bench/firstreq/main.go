// Command firstreq measures time to first feedback on a warm process: from
// the command (Resolve of a chapter link) to its first page request at
// the server, from Run to that request, and from the first page's answer
// to the progress that shows it. One process, one Env (as the bot keeps
// them), a loopback server without added latency; prints a Markdown table
// of medians and maxima over -runs.
//
//	go run ./bench/firstreq [-runs 30] [-pages 20]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/pipeline"
	_ "github.com/mangabot/mangabot/sites/all"
)

func main() {
	runs := flag.Int("runs", 30, "measured runs (after one warm-up)")
	n := flag.Int("pages", 20, "pages per chapter")
	flag.Parse()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 200, 300)), nil); err != nil {
		log.Fatal(err)
	}
	img := b.Bytes()

	var mu sync.Mutex
	firstReq := map[string]time.Time{}    // run -> first image request
	firstServed := map[string]time.Time{} // run -> first image answered
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		run := parts[0]
		if parts[1] == "chapter" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html><head><title>Run %s</title></head><body><div id=\"reader\">\n", run)
			for i := range *n {
				fmt.Fprintf(w, "<img src=\"/%s/img/%d.jpg\">\n", run, i)
			}
			fmt.Fprint(w, "</div></body></html>\n")
			return
		}
		mu.Lock()
		if _, ok := firstReq[run]; !ok {
			firstReq[run] = time.Now()
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img)
		mu.Lock()
		if _, ok := firstServed[run]; !ok {
			firstServed[run] = time.Now()
		}
		mu.Unlock()
	}))
	defer srv.Close()

	cfg, err := config.Parse(`
[download]
allow_networks = ["127.0.0.0/8"]
concurrency = 10
rate = 1000.0
burst = 100
`)
	if err != nil {
		log.Fatal(err)
	}
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "firstreq")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var cmdToReq, runToReq, pageToProgress []time.Duration
	for k := 0; k <= *runs; k++ {
		run := fmt.Sprint("r", k)
		var shown time.Time
		t0 := time.Now()
		plan, err := env.Resolve(context.Background(), pipeline.Request{URL: srv.URL + "/" + run + "/chapter"})
		if err != nil {
			log.Fatal(err)
		}
		t1 := time.Now()
		_, err = env.Run(context.Background(), plan, pipeline.RunOptions{Dir: dir, File: dir + "/out.pdf", Progress: func(p pipeline.Progress) {
			if shown.IsZero() && p.PagesDone > 0 {
				shown = time.Now()
			}
		}})
		if err != nil {
			log.Fatal(err)
		}
		os.Remove(dir + "/out.pdf")
		if k == 0 {
			continue // warm-up: connections, code paths, caches
		}
		mu.Lock()
		cmdToReq = append(cmdToReq, firstReq[run].Sub(t0))
		runToReq = append(runToReq, firstReq[run].Sub(t1))
		pageToProgress = append(pageToProgress, shown.Sub(firstServed[run]))
		mu.Unlock()
	}
	row := func(name string, d []time.Duration) {
		slices.Sort(d)
		fmt.Printf("| %s | %.1f ms | %.1f ms |\n", name, ms(d[len(d)/2]), ms(d[len(d)-1]))
	}
	fmt.Printf("Warm process, loopback server without added latency, %d-page chapter, %d runs:\n\n", *n, *runs)
	fmt.Println("| from → to | median | max |")
	fmt.Println("|---|---:|---:|")
	row("command (Resolve of the link) → first page request at the server", cmdToReq)
	row("Run → first page request", runToReq)
	row("first page answered → progress shows it", pageToProgress)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
