package browser

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/mangabot/mangabot/download"
)

// proxy is the HTTP proxy Chromium sends all its traffic through. It dials
// with the address guard, so the decision is taken on the address really
// connected to, at connect time: this covers what the Fetch domain does
// not pause (websockets, workers, out-of-process frames) and DNS answers
// that change between the Fetch check and the connection. It listens on
// loopback only.
type proxy struct {
	ln    net.Listener
	srv   *http.Server
	guard *download.Guard
	log   *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]struct{} // hijacked tunnels, closed by close
}

func startProxy(guard *download.Guard, log *slog.Logger) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, guard: guard, log: log, conns: map[net.Conn]struct{}{}}
	rp := &httputil.ReverseProxy{
		// The request line already holds the absolute URL.
		Rewrite: func(*httputil.ProxyRequest) {},
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           guard.DialContext,
			ForceAttemptHTTP2:     false,
			MaxIdleConns:          32,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: time.Minute,
		},
		ErrorHandler: p.refuse,
	}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodConnect {
				p.tunnel(w, r)
				return
			}
			if r.URL.Scheme != "http" || r.URL.Host == "" {
				http.Error(w, "not a proxy request", http.StatusBadRequest)
				return
			}
			r.Header.Del("Proxy-Connection")
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// refuse answers a failed dial: 403 when the guard refused the address,
// 502 otherwise.
func (p *proxy) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var be *download.BlockedError
	if errors.As(err, &be) {
		p.log.Warn("browser request refused", "host", r.Host, "err", err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	http.Error(w, err.Error(), http.StatusBadGateway)
}

// tunnel serves CONNECT (https, and websockets of either scheme).
func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	up, err := p.guard.DialContext(ctx, "tcp", r.Host)
	cancel()
	if err != nil {
		p.refuse(w, r, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	down, rw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !p.track(up, down) {
		return
	}
	defer p.untrack(up, down)
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, rw); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done // either side gone: end both
}

// track registers a tunnel's two ends; false (and both closed) when the
// proxy is already closing.
func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) close() {
	p.srv.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
