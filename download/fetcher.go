package download

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// maxRetryAfter caps how long a request will wait for a server that asked
// us to back off; beyond it the request fails ("rate limited for N s").
const maxRetryAfter = 5 * time.Minute

// maxRedirects bounds redirect chains.
const maxRedirects = 10

// Fetcher is the process-wide downloader. Make one with New and share it.
type Fetcher struct {
	opts     Options
	base     *http.Transport
	client   *http.Client
	inflight chan struct{} // MaxInFlight semaphore

	mu    sync.Mutex
	hosts map[string]*hostState
	// limits by host as configured (Options.HostLimits + SetHostLimits).
	limits map[string][]HostLimit

	requests, retries, pages, bytes atomic.Int64
	rlMu                            sync.Mutex
	rateLimited                     map[string]int64
}

// hostState is shared by every job and by Client(): the host's token bucket,
// optional path limiters, and the pause set by a 429.
type hostState struct {
	lim   *rate.Limiter
	ad    *adaptive // requests in flight and the rate lim grants, adapted
	paths []pathLimiter

	mu          sync.Mutex
	pausedUntil time.Time
}

type pathLimiter struct {
	prefix string
	lim    *rate.Limiter
}

func (o *Options) setDefaults() {
	if o.UserAgent == "" {
		o.UserAgent = "mangabot/dev"
	}
	if o.Rate <= 0 {
		o.Rate = 4
	}
	if o.Burst <= 0 {
		o.Burst = 4
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.ReorderBytes <= 0 {
		o.ReorderBytes = 256 << 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 30 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Minute
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = 50 << 20
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 2000
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	o.BackoffMax = min(o.BackoffMax, maxRetryAfter)
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
}

// New makes a Fetcher. The process should make one and share it.
func New(opts Options) *Fetcher {
	opts.setDefaults()
	opts.AllowNetworks = append([]netip.Prefix(nil), opts.AllowNetworks...)
	f := &Fetcher{
		opts:        opts,
		inflight:    make(chan struct{}, opts.MaxInFlight),
		hosts:       map[string]*hostState{},
		limits:      map[string][]HostLimit{},
		rateLimited: map[string]int64{},
	}
	dialer := &net.Dialer{
		Timeout:   opts.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		Control:   f.control,
	}
	f.base = &http.Transport{
		// No proxy: a proxy would dial the target for us, past the guard.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, opts.MaxInFlight),
		MaxIdleConnsPerHost:   max(opts.Concurrency*2, min(opts.MaxInFlight, 64)),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
	f.client = &http.Client{
		Transport:     &transport{f: f},
		CheckRedirect: checkRedirect,
	}
	f.SetHostLimits(opts.HostLimits...)
	return f
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errRedirect
	}
	if err := checkScheme(req.URL.Scheme); err != nil {
		return err
	}
	return nil
}

var errScheme = errors.New("unsupported URL scheme")

func checkScheme(s string) error {
	switch strings.ToLower(s) {
	case "http", "https":
		return nil
	}
	return fmt.Errorf("%w %q (only http and https)", errScheme, s)
}

// Client returns the shared client for site handlers' API calls: the same
// address guard, per-host limits and retries (GET/HEAD only) as page
// fetches. It sets User-Agent when the request has none.
func (f *Fetcher) Client() *http.Client { return f.client }

// SetHostLimits adds or replaces per-host limits (site handlers declare
// them). A limit with Path adds a second limiter for that path prefix; one
// without Path sets the host's own bucket.
func (f *Fetcher) SetHostLimits(limits ...HostLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range limits {
		host := strings.ToLower(l.Host)
		if host == "" || l.Rate <= 0 {
			continue
		}
		burst := max(l.Burst, 1)
		// Replace an earlier limit for the same host+path.
		kept := f.limits[host][:0:0]
		for _, old := range f.limits[host] {
			if old.Path != l.Path {
				kept = append(kept, old)
			}
		}
		f.limits[host] = append(kept, l)
		hs := f.hosts[host]
		if hs == nil {
			continue // made from f.limits on first use
		}
		if l.Path == "" {
			hs.ad.setLimits(rate.Limit(l.Rate), burst, f.opts.Concurrency)
			continue
		}
		found := false
		for _, p := range hs.paths {
			if p.prefix == l.Path {
				p.lim.SetLimit(rate.Limit(l.Rate))
				p.lim.SetBurst(burst)
				found = true
			}
		}
		if !found {
			hs.paths = append(hs.paths, pathLimiter{l.Path, rate.NewLimiter(rate.Limit(l.Rate), burst)})
		}
	}
}

// host returns the shared state of a host, made on first use.
func (f *Fetcher) host(name string) *hostState {
	name = strings.ToLower(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if hs := f.hosts[name]; hs != nil {
		return hs
	}
	hs := &hostState{lim: rate.NewLimiter(rate.Limit(f.opts.Rate), f.opts.Burst)}
	for _, l := range f.limits[name] {
		lim := rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1))
		if l.Path == "" {
			hs.lim = lim
		} else {
			hs.paths = append(hs.paths, pathLimiter{l.Path, lim})
		}
	}
	hs.ad = newAdaptive(name, f.opts.Observer, hs.lim, f.opts.Concurrency)
	f.hosts[name] = hs
	return hs
}

// limiters returns the buckets a request for path must pass. Called with
// f.mu not held; paths only grow under f.mu, so copy under it.
func (f *Fetcher) limiters(hs *hostState, path string) []*rate.Limiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*rate.Limiter{hs.lim}
	for _, p := range hs.paths {
		if strings.HasPrefix(path, p.prefix) {
			out = append(out, p.lim)
		}
	}
	return out
}

// Concurrency is the window of pages in flight per job.
func (f *Fetcher) Concurrency() int { return f.opts.Concurrency }

// Stats returns process-wide counters.
func (f *Fetcher) Stats() Stats {
	s := Stats{
		Requests:    f.requests.Load(),
		Retries:     f.retries.Load(),
		Pages:       f.pages.Load(),
		Bytes:       f.bytes.Load(),
		RateLimited: map[string]int64{},
	}
	f.rlMu.Lock()
	for h, n := range f.rateLimited {
		s.RateLimited[h] = n
	}
	f.rlMu.Unlock()
	return s
}

func (f *Fetcher) countRateLimited(host string) {
	f.rlMu.Lock()
	f.rateLimited[strings.ToLower(host)]++
	f.rlMu.Unlock()
}

// PageFile is the final name of page i in dir, without extension:
// dir/page-0001 for i = 0 (file names count from 1, as readers do).
func PageFile(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("page-%04d", i+1))
}
