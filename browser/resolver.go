// Package browser finds the image URLs of readers that build their pages
// in the browser (a script fetches the list, images appear on scroll, a
// JavaScript challenge sets a cookie first). It drives a system Chromium
// over the DevTools protocol (chromedp): one browser per process, started
// on first use, shared by all jobs with a bounded number of tabs, restarted
// if it dies and killed with its whole process tree on Close.
//
// It only finds URLs: the images are downloaded by the normal fetcher with
// the cookies and User-Agent the page ended with. Readers that paint pages
// on a canvas or hand out blob: URLs are out of scope.
//
// Every request the browser makes passes download's address guard twice:
// the Fetch domain pauses each request of a tab and fails those whose host
// resolves to a refused address (or whose scheme is not http/https), and
// all traffic goes through a local proxy that dials with the guard, which
// also covers what the Fetch domain does not see (websockets, workers,
// out-of-process frames) and DNS answers that change between the check and
// the connection.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mangabot/mangabot/download"
)

// Options configure a Resolver. The zero value works (defaults below).
type Options struct {
	// Path of the Chromium binary; empty: looked up as chromium,
	// chromium-browser, google-chrome on $PATH.
	Path        string
	MaxTabs     int           // pages rendered at once; default 2
	Timeout     time.Duration // bound of one render; default 45s
	QuietPeriod time.Duration // no new request for this long = settled; default 1.5s
	// AllowNetworks: the fetcher's allow_networks, so the browser reaches
	// exactly what the fetcher may.
	AllowNetworks []netip.Prefix
	// UserAgent is appended to Chromium's own User-Agent, so sites see
	// both what renders the page and who asks (e.g. "mangabot/1.2 (+url)").
	UserAgent string
	Observer  Observer
	Logger    *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxTabs <= 0 {
		o.MaxTabs = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 45 * time.Second
	}
	if o.QuietPeriod <= 0 {
		o.QuietPeriod = 1500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
}

// Observer is told of renders, for metrics. Its methods must be safe for
// concurrent use and must not block.
type Observer interface {
	RenderStarted()
	// RenderFinished is called once per RenderStarted; err is nil on
	// success. Renders cancelled by the caller are reported with their
	// context error.
	RenderFinished(err error, d time.Duration)
	// TabsInUse is called with the number of tabs open whenever it changes.
	TabsInUse(n int)
}

type nopObserver struct{}

func (nopObserver) RenderStarted()                      {}
func (nopObserver) RenderFinished(error, time.Duration) {}
func (nopObserver) TabsInUse(int)                       {}

// NotInstalledError: no Chromium binary was found. Its message is the one
// line an operator needs.
type NotInstalledError struct{ Path string }

func (e *NotInstalledError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("this page needs a browser, and [browser] path %q is not an executable: install chromium or fix the path", e.Path)
	}
	return "this page needs a browser: install chromium (Debian: apt-get install chromium) or set [browser] path"
}

// Resolver renders pages in a shared headless Chromium. Make one per
// process with New; it is safe for concurrent use. Close kills the browser.
type Resolver struct {
	opts  Options
	guard *download.Guard
	tabs  chan struct{} // semaphore of MaxTabs

	mu     sync.Mutex
	inst   *instance // nil until first use, or after a crash
	proxy  *proxy    // started with the first browser, kept across restarts
	closed bool
	inUse  atomic.Int64
}

// New makes a Resolver; Chromium starts on the first Resolve.
func New(opts Options) *Resolver {
	opts.setDefaults()
	return &Resolver{
		opts:  opts,
		guard: download.NewGuard(opts.AllowNetworks),
		tabs:  make(chan struct{}, opts.MaxTabs),
	}
}

// ErrClosed is returned by Resolve after Close.
var ErrClosed = errors.New("browser: resolver closed")

// Available reports whether a Chromium binary can be found, without
// starting it; the error is a *NotInstalledError.
func (r *Resolver) Available() error {
	_, err := findChromium(r.opts.Path)
	return err
}

// Resolve loads pageURL in a fresh tab (its own cookie jar), scrolls it and
// waits until no new request has been made for QuietPeriod (bounded by
// Timeout), then returns what the page shows. Cancelling ctx closes the
// tab at once.
func (r *Resolver) Resolve(ctx context.Context, pageURL string) (*Result, error) {
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("render: %q is not an http(s) URL", pageURL)
	}
	r.opts.Observer.RenderStarted()
	start := time.Now()
	res, err := r.resolve(ctx, u)
	r.opts.Observer.RenderFinished(err, time.Since(start))
	var ni *NotInstalledError
	switch {
	case errors.As(err, &ni):
		return nil, err // already the one line the operator needs
	case err != nil:
		return nil, fmt.Errorf("render: %w", err)
	}
	if len(res.Blocked) > 0 {
		r.opts.Logger.Warn("browser requests refused by the address guard", "page", pageURL, "count", len(res.Blocked), "first", res.Blocked[0].String())
	}
	return res, nil
}

// resolve waits for a tab (as long as ctx allows: jobs queue for tabs),
// starts the browser if needed (bounded by startTimeout), then renders
// within Timeout.
func (r *Resolver) resolve(ctx context.Context, u *url.URL) (*Result, error) {
	select {
	case r.tabs <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.tabs }()
	inst, err := r.instance(ctx)
	if err != nil {
		return nil, err
	}
	r.tabDelta(1)
	defer r.tabDelta(-1)
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	return inst.render(ctx, u, r.guard, r.opts)
}

func (r *Resolver) tabDelta(d int64) {
	r.opts.Observer.TabsInUse(int(r.inUse.Add(d)))
}

// instance returns the running browser, starting it if there is none or
// the last one died.
func (r *Resolver) instance(ctx context.Context) (*instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.inst != nil && r.inst.alive() {
		return r.inst, nil
	}
	if r.inst != nil {
		r.opts.Logger.Warn("browser died; starting a new one", "pid", r.inst.pid())
		r.inst.close()
		r.inst = nil
	}
	bin, err := findChromium(r.opts.Path)
	if err != nil {
		return nil, err
	}
	if r.proxy == nil {
		p, err := startProxy(r.guard, r.opts.Logger)
		if err != nil {
			return nil, err
		}
		r.proxy = p
	}
	inst, err := startInstance(ctx, bin, r.proxy.addr(), r.opts)
	if err != nil {
		return nil, err
	}
	r.opts.Logger.Info("browser started", "path", bin, "pid", inst.pid(), "user_agent", inst.userAgent)
	r.inst = inst
	return inst, nil
}

// Close kills the browser and every process it started, removes its
// temporary profile and stops the proxy. Renders in progress fail.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var err error
	if r.inst != nil {
		err = r.inst.close()
		r.inst = nil
	}
	if r.proxy != nil {
		r.proxy.close()
		r.proxy = nil
	}
	return err
}

// findChromium returns the binary to run: path if set, else the first of
// the usual names on $PATH.
func findChromium(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", &NotInstalledError{Path: path}
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", &NotInstalledError{}
}
