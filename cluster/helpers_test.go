package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/pipeline"
	_ "github.com/mangabot/mangabot/sites/all"
)

// startNATS runs an embedded nats-server with JetStream.
func startNATS(t testing.TB) string { return natstest.Start(t, "", -1).ClientURL() }

// site is a loopback reader: /c/N is a chapter page of `pages` images,
// /img/N/P an image served after `latency`. Images wait while held.
// It records when each image request arrived.
type site struct {
	*httptest.Server
	pages   int
	latency time.Duration
	img     []byte

	mu      sync.Mutex
	held    chan struct{} // non-nil: image requests from page open on wait for it to close
	open    int
	arrived []time.Time
	perPath map[string]int
	waiting int
}

func newSite(t testing.TB, pages int, latency time.Duration) *site {
	t.Helper()
	s := &site{pages: pages, latency: latency, img: jpegBytes(t), perPath: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/c/", func(w http.ResponseWriter, r *http.Request) {
		n := strings.TrimPrefix(r.URL.Path, "/c/")
		var b strings.Builder
		fmt.Fprintf(&b, `<html><head><title>Cluster Series Chapter %s</title></head><body><div id="reader">`, n)
		for i := 0; i < s.pages; i++ {
			fmt.Fprintf(&b, `<img src="/img/%s/%d">`, n, i)
		}
		b.WriteString(`</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.arrived = append(s.arrived, time.Now())
		s.perPath[r.URL.Path]++
		held := s.held
		if p, _ := strconv.Atoi(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]); p < s.open {
			held = nil
		}
		s.waiting++
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.waiting--; s.mu.Unlock() }()
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
		select {
		case <-time.After(s.latency):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(s.img)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *site) chapter(n int) string { return s.URL + "/c/" + strconv.Itoa(n) }

// hold makes image requests of pages from open on wait until release.
func (s *site) hold(open int) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.held, s.open = ch, open
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.held = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

func (s *site) requests() (n, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrived), s.waiting
}

// fetched is how many times image p of chapter n was requested.
func (s *site) fetched(n, p int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perPath[fmt.Sprintf("/img/%d/%d", n, p)]
}

func (s *site) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrived...)
}

func jpegBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// newEnv is a pipeline allowed to reach loopback, with rate and burst per
// host; gate is the shared host limit (nil: none).
func newEnv(t testing.TB, rate float64, burst int, gate func(context.Context, string, float64, int) error) *pipeline.Env {
	t.Helper()
	cfg := config.Default()
	cfg.Download.AllowNetworks = []string{"127.0.0.0/8"}
	cfg.Download.Rate, cfg.Download.Burst = rate, burst
	cfg.Download.Retries = 0
	cfg.Output.Dir = t.TempDir()
	env, err := pipeline.New(cfg, pipeline.Options{HostGate: gate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(discard{}, nil)) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// connect joins the cluster at url with test timings.
func connect(t testing.TB, url, name string) *cluster.Conn {
	t.Helper()
	return connectAttempts(t, url, name, 3)
}

func connectAttempts(t testing.TB, url, name string, attempts int) *cluster.Conn {
	t.Helper()
	c, err := cluster.Connect(context.Background(), cluster.Options{URL: url, Name: name,
		AckWait: 1500 * time.Millisecond, MaxAttempts: attempts, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// worker is a running cluster.Worker with its own connection; stop ends it
// gracefully, kill cuts its connection first (no ack, no nak: as if the
// process died).
type worker struct {
	c        *cluster.Conn
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	outcomes map[string]int
}

func startWorker(t testing.TB, url, name string, env *pipeline.Env, jobs int) *worker {
	t.Helper()
	return startWorkerOn(t, connect(t, url, name), name, env, jobs)
}

func startWorkerOn(t testing.TB, c *cluster.Conn, name string, env *pipeline.Env, jobs int) *worker {
	t.Helper()
	w := &worker{c: c, done: make(chan struct{}), outcomes: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	wk := cluster.NewWorker(w.c, env, cluster.WorkerOptions{Name: name, Jobs: jobs, Dir: t.TempDir(), Logger: quiet(),
		ProgressEvery: 50 * time.Millisecond,
		Outcome: func(o string) {
			w.mu.Lock()
			w.outcomes[o]++
			w.mu.Unlock()
		}})
	go func() {
		defer close(w.done)
		wk.Run(ctx)
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *worker) stop() {
	w.cancel()
	<-w.done
}

func (w *worker) kill() {
	w.c.Close()
	w.stop()
}

func (w *worker) count(o string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outcomes[o]
}

// eventually polls cond (a failure guard: the bound is never the
// measurement).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
