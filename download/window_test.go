package download

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWindowAcrossBatches: chapter 2's pages are requested while chapter
// 1's slow page is still in flight (one window for the job, not one per
// chapter), Page hands pages out in order as soon as they are final, and
// each chapter keeps its own progress.
func TestWindowAcrossBatches(t *testing.T) {
	img := jpegBytes(t, 1)
	second := make(chan struct{}) // closed by chapter 2's first request
	var once sync.Once
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/2/") {
			once.Do(func() { close(second) })
		}
		if r.URL.Path == "/1/0" {
			// The slow tail: it answers only once chapter 2 has begun (or
			// after a guard, and the test fails below).
			select {
			case <-second:
			case <-time.After(10 * time.Second):
			}
		}
		w.Write(img)
	}))
	defer srv.Close()
	o := testOptions()
	o.Concurrency = 3
	f := New(o)
	w := f.NewWindow(context.Background())
	defer w.Close()
	pages := func(ch, n int) []Page {
		var l []Page
		for i := range n {
			l = append(l, Page{URL: fmt.Sprintf("%s/%d/%d", srv.URL, ch, i)})
		}
		return l
	}
	var progMu sync.Mutex
	last := map[int]Progress{}
	prog := func(ch int) func(Progress) {
		return func(p Progress) {
			progMu.Lock()
			if p.Done < last[ch].Done {
				t.Errorf("chapter %d progress went back: %+v after %+v", ch, p, last[ch])
			}
			last[ch] = p
			progMu.Unlock()
		}
	}
	fl1, err := w.Add(Batch{Pages: pages(1, 4), Dir: t.TempDir(), Progress: prog(1)})
	if err != nil {
		t.Fatal(err)
	}
	fl2, err := w.Add(Batch{Pages: pages(2, 5), Dir: t.TempDir(), Progress: prog(2)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		r, err := fl1.Page(context.Background(), i)
		if err != nil || r.Err != nil || r.Index != i || r.Path == "" {
			t.Fatalf("chapter 1 page %d: %+v %v", i, r, err)
		}
	}
	res2, err := fl2.Wait()
	if err != nil || res2.Failed != 0 {
		t.Fatalf("chapter 2: %v %+v", err, res2)
	}
	mu.Lock()
	defer mu.Unlock()
	firstOf2 := -1
	for k, p := range order {
		if strings.HasPrefix(p, "/2/") {
			firstOf2 = k
			break
		}
	}
	if firstOf2 < 0 || firstOf2 >= 4+5 {
		t.Fatalf("request order %v", order)
	}
	select {
	case <-second:
	default:
		t.Fatal("chapter 2 never started")
	}
	// Chapter 1's slow page was answered only after chapter 2's first
	// request arrived: the window crossed the chapter boundary.
	progMu.Lock()
	defer progMu.Unlock()
	if last[1].Done != 4 || last[1].Total != 4 || last[2].Done != 5 || last[2].Total != 5 {
		t.Errorf("progress per chapter: %+v", last)
	}
}

// TestWindowReorderBound: while the first page is stuck, the window stops
// starting pages once those done ahead of it fill ReorderBytes.
func TestWindowReorderBound(t *testing.T) {
	img := jpegBytes(t, 2)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen int
	var atRelease int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		mu.Unlock()
		if r.URL.Path == "/p/0" {
			// Held long enough for an unbounded window to fetch every
			// other page.
			select {
			case <-release:
			case <-time.After(500 * time.Millisecond):
			}
			mu.Lock()
			atRelease = seen
			mu.Unlock()
		}
		w.Write(img)
	}))
	defer srv.Close()
	o := testOptions()
	o.Concurrency = 3
	o.ReorderBytes = int64(len(img)) // one page ahead fills it
	f := New(o)
	var list []Page
	for i := range 20 {
		list = append(list, Page{URL: fmt.Sprintf("%s/p/%d", srv.URL, i)})
	}
	res, err := f.Fetch(context.Background(), Batch{Pages: list, Dir: t.TempDir()})
	if err != nil || res.Failed != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	mu.Lock()
	defer mu.Unlock()
	// Pages 0, 1, 2 start together; 1 and 2 fill the buffer; nothing more
	// may start until page 0 is done.
	if atRelease != 3 {
		t.Errorf("%d requests had arrived when the first page was answered; want 3 (the reorder buffer was full)", atRelease)
	}
}

// TestWindowCancel: closing the window mid-flight ends every flight with
// the context's error, leaves no temp file, and wakes a waiting Page.
func TestWindowCancel(t *testing.T) {
	img := jpegBytes(t, 3)
	started := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		if strings.HasSuffix(r.URL.Path, "/slow") {
			// Half a body, then wait for the client to go away.
			w.Header().Set("Content-Length", fmt.Sprint(len(img)))
			w.Write(img[:len(img)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Write(img)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w := New(testOptions()).NewWindow(ctx)
	dir1, dir2 := t.TempDir(), t.TempDir()
	fl1, err := w.Add(Batch{Pages: []Page{{URL: srv.URL + "/a"}, {URL: srv.URL + "/slow"}}, Dir: dir1})
	if err != nil {
		t.Fatal(err)
	}
	fl2, err := w.Add(Batch{Pages: []Page{{URL: srv.URL + "/b/slow"}}, Dir: dir2})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		<-started
	}
	pageErr := make(chan error, 1)
	go func() {
		_, err := fl1.Page(context.Background(), 1)
		pageErr <- err
	}()
	cancel()
	w.Close()
	if err := <-pageErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Page after cancel: %v", err)
	}
	for _, fl := range []*Flight{fl1, fl2} {
		if _, err := fl.Wait(); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait after cancel: %v", err)
		}
	}
	for _, d := range []string{dir1, dir2} {
		if tmp := tempFiles(t, d); len(tmp) != 0 {
			t.Errorf("temp files left in %s: %v", d, tmp)
		}
	}
	if _, err := w.Add(Batch{Pages: []Page{{URL: srv.URL + "/c"}}, Dir: dir1}); err == nil {
		t.Error("Add after Close succeeded")
	}
}
