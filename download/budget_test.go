package download

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/image/bmp"
)

// cutShort answers with full headers and half the body, then drops the
// connection.
func cutShort(w http.ResponseWriter, img []byte) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(img))
	buf.Write(img[:len(img)/2])
	buf.Flush()
	conn.Close()
}

// TestAttemptBudget: the transport's retries (before the body) and the
// page's retries (body cut short) share one budget, so a page costs at most
// Retries+1 requests whatever the mix of failures.
func TestAttemptBudget(t *testing.T) {
	img := jpegBytes(t, 3)
	for _, tc := range []struct {
		name string
		fail func(n int32, w http.ResponseWriter) // n counts from 1
	}{
		{"every body cut short", func(_ int32, w http.ResponseWriter) { cutShort(w, img) }},
		{"503 and cut bodies in turn", func(n int32, w http.ResponseWriter) {
			if n%2 == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			cutShort(w, img)
		}},
		{"503 three times, then cut bodies", func(n int32, w http.ResponseWriter) {
			if n%4 != 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			cutShort(w, img)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.fail(hits.Add(1), w)
			}))
			defer srv.Close()
			opts := testOptions()
			opts.Retries = 3
			f := New(opts)
			res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/p"}}, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != 1 {
				t.Fatalf("page did not fail: %+v", res.Pages[0])
			}
			if got := hits.Load(); got != int32(opts.Retries+1) {
				t.Errorf("server saw %d requests for one page, want %d (Retries+1)", got, opts.Retries+1)
			}
			if st := f.Stats(); st.Retries != int64(opts.Retries) || st.Requests != int64(opts.Retries+1) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestRefresh403: an image node's 403 (expired token in the URL) is worth a
// refresh; a 404 and a non-image are not.
func TestRefresh403(t *testing.T) {
	img := jpegBytes(t, 1)
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/old/0":
			http.Error(w, "token expired", http.StatusForbidden)
		case "/old/1":
			http.NotFound(w, r)
		case "/old/2":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html>login</html>"))
		default:
			w.Write(img)
		}
	}))
	defer srv.Close()
	mk := func(prefix string) []Page {
		p := make([]Page, 3)
		for i := range p {
			p[i].URL = fmt.Sprintf("%s/%s/%d", srv.URL, prefix, i)
		}
		return p
	}
	f := New(testOptions())
	res, err := f.Fetch(context.Background(), Batch{
		Pages:   mk("old"),
		Dir:     t.TempDir(),
		Refresh: func(context.Context) ([]Page, error) { return mk("new"), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages[0].Err != nil {
		t.Errorf("page 0 (403, then refreshed): %v", res.Pages[0].Err)
	}
	if reasonOf(res.Pages[1]) != "HTTP 404" || !strings.HasPrefix(reasonOf(res.Pages[2]), "not an image") {
		t.Errorf("page 1: %q, page 2: %q", reasonOf(res.Pages[1]), reasonOf(res.Pages[2]))
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/old/0"] != 1 || hits["/new/0"] != 1 || hits["/new/1"] != 0 || hits["/new/2"] != 0 {
		t.Errorf("requests %v", hits)
	}
}

func bmpBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := bmp.Encode(&b, testImage(2)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSniffBMP: through a fetch, text starting with "BM" is "not an image"
// and a real BMP is kept (the header checks are tested in imagetype).
func TestSniffBMP(t *testing.T) {
	good := bmpBytes(t)
	bad := map[string][]byte{"BM and text": []byte("BMW 320d for sale, low mileage, call now")}
	// Through a fetch: the look-alike is "not an image", the real BMP is kept.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fake" {
			w.Write(bad["BM and text"])
			return
		}
		w.Write(good)
	}))
	defer srv.Close()
	f := New(testOptions())
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: srv.URL + "/fake"}, {URL: srv.URL + "/real"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := reasonOf(res.Pages[0]); !strings.HasPrefix(got, "not an image") {
		t.Errorf("fake BMP: %q", got)
	}
	if res.Pages[1].Err != nil || res.Pages[1].Type != "bmp" {
		t.Errorf("real BMP: %+v", res.Pages[1])
	}
}

// TestClientBlockedMessage: an API call through Client() to a refused
// address fails with one clean sentence, not the dialer's chain, and the
// BlockedError is still there for errors.As. Loopback only.
func TestClientBlockedMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("blocked server was reached")
	}))
	defer srv.Close()
	opts := testOptions()
	opts.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f := New(opts)
	url := srv.URL + "/api/chapter"
	_, err := f.Client().Get(url)
	want := fmt.Sprintf("Get %q: blocked address 127.0.0.1 (loopback); allow it with [download] allow_networks", url)
	if err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
	var be *BlockedError
	if !errors.As(err, &be) || be.Addr.String() != "127.0.0.1" || be.Class != "loopback" {
		t.Errorf("errors.As(*BlockedError) lost: %v", err)
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		t.Errorf("dialer's error still in the chain: %v", ne)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("multi-line error %q", err)
	}
}
