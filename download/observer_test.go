package download

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type reqEvent struct {
	host   string
	status int
	err    bool
	retry  bool
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	reqs  []reqEvent
	pages []bool
	bytes int64
}

func (r *recorder) Request(host string, status int, err error, _ time.Duration, retry bool) {
	r.mu.Lock()
	r.reqs = append(r.reqs, reqEvent{host, status, err != nil, retry})
	r.mu.Unlock()
}

func (r *recorder) Page(ok bool, n int64, _ time.Duration) {
	r.mu.Lock()
	r.pages = append(r.pages, ok)
	r.bytes += n
	r.mu.Unlock()
}

// Client() calls (site APIs) are observed per attempt, at their headers.
func TestObserverClient(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	rec := &recorder{}
	o := testOptions()
	o.Observer = rec
	f := New(o)
	resp, err := f.Client().Get(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	want := []reqEvent{{"127.0.0.1", 503, false, true}, {"127.0.0.1", 200, false, false}}
	if len(rec.reqs) != 2 || rec.reqs[0] != want[0] || rec.reqs[1] != want[1] {
		t.Errorf("events %+v, want %+v", rec.reqs, want)
	}
	if len(rec.pages) != 0 {
		t.Errorf("API call reported as pages: %v", rec.pages)
	}
}

// A redirected page is two attempts: the 302 at its headers, the image on
// the target host once the body is in.
func TestObserverRedirect(t *testing.T) {
	img := jpegBytes(t, 1)
	// The target is another loopback host (127.0.0.2), so the two attempts
	// carry distinct host labels without a name from /etc/hosts.
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(img)
	}))
	target.Listener.Close()
	target.Listener = listenLoopback2(t)
	target.Start()
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/img", http.StatusFound)
	}))
	defer srv.Close()
	rec := &recorder{}
	o := testOptions()
	o.Observer = rec
	f := New(o)
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/go"}}, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	want := []reqEvent{{"127.0.0.1", 302, false, false}, {"127.0.0.2", 200, false, false}}
	if len(rec.reqs) != 2 || rec.reqs[0] != want[0] || rec.reqs[1] != want[1] {
		t.Errorf("events %+v, want %+v", rec.reqs, want)
	}
	if len(rec.pages) != 1 || !rec.pages[0] || rec.bytes != int64(len(img)) {
		t.Errorf("pages %v bytes %d, want one ok of %d", rec.pages, rec.bytes, len(img))
	}
}

// A page that fails, then succeeds in the Refresh round with new URLs, is
// one page, ok.
func TestObserverRefreshedPageCountedOnce(t *testing.T) {
	img := jpegBytes(t, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Error(w, "gone bad", http.StatusBadGateway)
			return
		}
		w.Write(img)
	}))
	defer srv.Close()
	rec := &recorder{}
	o := testOptions()
	o.Observer = rec
	f := New(o)
	res, err := f.Fetch(context.Background(), Batch{
		Pages: []Page{{URL: srv.URL + "/old"}},
		Dir:   t.TempDir(),
		Refresh: func(context.Context) ([]Page, error) {
			return []Page{{URL: srv.URL + "/new"}}, nil
		},
	})
	if err != nil || res.Failed != 0 {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	if len(rec.pages) != 1 || !rec.pages[0] {
		t.Errorf("pages reported %v, want one ok", rec.pages)
	}
	var retries int64
	for _, e := range rec.reqs {
		if e.retry {
			retries++
		}
	}
	if st := f.Stats(); retries != st.Retries || st.Retries == 0 {
		t.Errorf("observed %d retries, fetcher counted %d", retries, st.Retries)
	}
}
