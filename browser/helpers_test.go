package browser

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// needChromium skips without Chromium, except in CI (CI=true), where the
// browser tests must run: .ci/run installs chromium.
func needChromium(t testing.TB) {
	t.Helper()
	if _, err := findChromium(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium missing (CI): ", err)
		}
		t.Skip("chromium not installed")
	}
}

// loopbackOnly allows the test servers on 127.0.0.1 and nothing else of
// 127.0.0.0/8, so a server on 127.0.0.2 stands for a private address.
var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// newResolver makes a Resolver allowed to reach 127.0.0.1 only, closed
// when the test ends.
func newResolver(t testing.TB, opts Options) *Resolver {
	t.Helper()
	needChromium(t)
	if opts.AllowNetworks == nil {
		opts.AllowNetworks = loopbackOnly
	}
	if opts.QuietPeriod == 0 {
		opts.QuietPeriod = 700 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	return r
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// privateServer serves h on 127.0.0.2, which loopbackOnly does not allow,
// and counts the connections that reach it.
func privateServer(t testing.TB, h http.Handler) (*httptest.Server, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("no 127.0.0.2 on this machine: ", err)
	}
	cl := &countingListener{Listener: ln}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cl
}

// png is a 1x1 image.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

func servePNG(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func serveHTML(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(body))
	}
}

// readerServer serves handlers by path on 127.0.0.1, with PNGs under /img/
// unless handlers has its own; closed when the test ends.
func readerServer(t testing.TB, handlers map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	if handlers["/img/"] == nil {
		mux.HandleFunc("/img/", servePNG)
	}
	for p, h := range handlers {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func mustResolve(t testing.TB, r *Resolver, url string) *Result {
	t.Helper()
	res, err := r.Resolve(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
