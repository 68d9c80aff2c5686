// Command followbench measures one polling round of many follows: N
// series spread over H loopback hosts (127.0.0.1 … 127.0.0.H, one server
// each), every series with a new chapter. It reports the round's time,
// the requests each host got per second (the busiest second of the
// busiest host, against the fetcher's per-host limit) and the process's
// RSS.
//
// The series pages are read by a small handler registered here
// ("benchseries": chapter links in a list, the shape of a theme's series
// page), through the real poller, store and fetcher.
//
//	go run ./bench/followbench [-follows 500] [-hosts 20] [-rate 4] [-burst 4] [-checks 4]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/store"
)

var seriesPath = regexp.MustCompile(`^/series/[0-9]+$`)

// lister reads /series/N pages: <ul class="chapters"><li><a href=…>.
type lister struct{}

func (lister) Match(u *url.URL) bool {
	return strings.HasPrefix(u.Hostname(), "127.0.0.") && seriesPath.MatchString(u.Path)
}

func (lister) Resolve(context.Context, sites.Env, sites.Request) ([]*sites.Chapter, error) {
	return nil, sites.ErrUnsupported
}

func (lister) List(ctx context.Context, env sites.Env, req sites.ListRequest) (*sites.Listing, error) {
	doc, err := sites.DoHTML(ctx, env, sites.Req{URL: req.URL})
	if err != nil {
		return nil, err
	}
	l := &sites.Listing{Series: strings.TrimSpace(doc.Find("h1").First().Text())}
	doc.Find("ul.chapters li a[href]").Each(func(_ int, a *goquery.Selection) {
		u, err := req.URL.Parse(a.AttrOr("href", ""))
		if err != nil {
			return
		}
		l.Chapters = append(l.Chapters, &sites.Chapter{ID: u.Path, SourceURL: u.String(), Number: a.AttrOr("data-number", ""), Title: a.Text()})
	})
	return l, nil
}

func init() {
	sites.Register(sites.Info[struct{}]{Name: "benchseries", Description: "followbench series pages",
		New: func(*struct{}) (sites.Handler, error) { return lister{}, nil }})
}

// host is one loopback site: its series' chapter counts and the times of
// the requests it got.
type host struct {
	srv *httptest.Server
	mu  sync.Mutex
	chs map[string]int
	at  []time.Time
}

func newHost(ip string) (*host, error) {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return nil, err
	}
	h := &host{chs: map[string]int{}}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.at = append(h.at, time.Now())
		n, ok := h.chs[r.URL.Path]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body><h1>Series %s</h1><ul class=chapters>", r.URL.Path)
		for k := n; k >= 1; k-- {
			fmt.Fprintf(w, `<li><a href="%s/ch/%d" data-number="%d">Chapter %d</a></li>`, r.URL.Path, k, k, k)
		}
		fmt.Fprint(w, "</ul></body></html>")
	}))
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.Start()
	return h, nil
}

// busiest is the most requests the host got within any window of d since
// from.
func (h *host) busiest(from time.Time, d time.Duration) (peak, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ts []time.Time
	for _, t := range h.at {
		if !t.Before(from) {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	j := 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak, len(ts)
}

// rss reads VmRSS and VmHWM (peak) from /proc/self/status, in MiB.
func rss() (cur, peak float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return cur, peak
}

type nobody struct {
	mu sync.Mutex
	n  int
}

func (d *nobody) Deliver(context.Context, store.Follow, store.Found) (string, error) {
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	return "", nil
}

func main() {
	nFollows := flag.Int("follows", 500, "followed series")
	nHosts := flag.Int("hosts", 20, "loopback hosts (127.0.0.1 …)")
	rate := flag.Float64("rate", 4, "[download] rate: requests per second per host")
	burst := flag.Int("burst", 4, "[download] burst")
	checks := flag.Int("checks", 4, "[follows] checks")
	flag.Parse()

	hosts := make([]*host, *nHosts)
	for i := range hosts {
		h, err := newHost(fmt.Sprintf("127.0.0.%d", i+1))
		if err != nil {
			log.Fatal(err)
		}
		defer h.srv.Close()
		hosts[i] = h
	}
	dir, err := os.MkdirTemp("", "followbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Download.AllowNetworks = []string{"127.0.0.0/8"}
	cfg.Download.Rate, cfg.Download.Burst = *rate, *burst
	cfg.Follows.Checks = *checks
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		log.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "bench.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	d := &nobody{}
	p := follow.New(follow.Options{Store: st, Env: env, Config: cfg.Follows, Deliver: d, Log: slog.New(slog.DiscardHandler)})

	// Follow every series (the baseline reads each once), hosts in turn.
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, *checks)
	for i := 0; i < *nFollows; i++ {
		h := hosts[i%len(hosts)]
		path := fmt.Sprintf("/series/%d", i)
		h.mu.Lock()
		h.chs[path] = 20
		h.mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := p.Add(ctx, h.srv.URL+path, store.Follow{}); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	added := time.Since(start)

	// Every series gets a chapter; one round finds them all.
	for _, h := range hosts {
		h.mu.Lock()
		for k := range h.chs {
			h.chs[k]++
		}
		h.mu.Unlock()
	}
	roundStart := time.Now()
	found, err := p.Round(ctx, true)
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(roundStart)
	busiest, least, most := 0, 1<<30, 0
	for _, h := range hosts {
		m, n := h.busiest(roundStart, time.Second)
		busiest = max(busiest, m)
		least, most = min(least, n), max(most, n)
	}
	cur, peak := rss()
	limit := int(*rate) + *burst
	fmt.Printf("| follows | hosts | host limit | baseline (follow all) | round | chapters found | requests per host | busiest host-second | RSS now / peak |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %d | %d | %g/s, burst %d (≤ %d in any second) | %.1f s | %.1f s | %d | %d–%d (%.1f/s avg) | %d requests | %.0f / %.0f MiB |\n",
		*nFollows, *nHosts, *rate, *burst, limit, added.Seconds(), took.Seconds(), len(found), least, most,
		float64(most)/took.Seconds(), busiest, cur, peak)
	if len(found) != *nFollows || d.n != *nFollows {
		log.Fatalf("found %d, delivered %d, want %d each", len(found), d.n, *nFollows)
	}
	if busiest > limit {
		log.Fatalf("a host got %d requests in one second, above its limit of %d", busiest, limit)
	}
}
