package download

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimitError: the host asked us to wait longer than we are willing to
// (maxRetryAfter), or a host limiter could not be passed before the
// context's deadline.
type RateLimitError struct {
	Host string
	Wait time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited for %d s", int64(math.Ceil(e.Wait.Seconds())))
}

// transport is the RoundTripper shared by page fetches and Client(): scheme
// check, User-Agent, per-host limits and 429 pause, MaxInFlight, a timeout
// per attempt, and retries of idempotent requests.
type transport struct{ f *Fetcher }

type ctxKey int

const hookKey ctxKey = 0

// attemptHook is told of each attempt the transport consumes itself (it
// retries after it); the caller sees only the last one. Page fetches use it
// to report every image request.
type attemptHook func(resp *http.Response, err error, d time.Duration)

// pageTrace rides on the context of a page request. The transport calls
// hook for each attempt it retries and records in start when the latest
// attempt was sent; it leaves telling the Observer of a final 2xx attempt
// to the page fetch, which knows how the body ended.
//
// It also carries the page's attempt budget: the transport's retries (of
// what fails before the body) and the page's own (of a body cut short)
// draw on the same count, so a page costs at most Retries+1 requests
// whatever the mix of failures. (What is counted is retries: the hops of
// a redirect chain are one attempt.) It is used by one goroutine at a
// time: http.Client calls RoundTrip on the caller's goroutine.
type pageTrace struct {
	hook    attemptHook
	start   time.Time
	retried int // retries of the page so far, by the transport or the page
	limit   int // Options.Retries
	// throttled is the time the page has waited after 429s, which do not
	// count as retries.
	throttled time.Duration
	throttles int
}

// canRetry says whether the page may be tried once more.
func (pt *pageTrace) canRetry() bool { return pt.retried < pt.limit }

func withPageTrace(ctx context.Context, pt *pageTrace) context.Context {
	return context.WithValue(ctx, hookKey, pt)
}

// observeRequest tells the Observer of one attempt, unless our own
// cancellation ended it.
func (f *Fetcher) observeRequest(ctx context.Context, host string, status int, err error, d time.Duration, retry bool) {
	o := f.opts.Observer
	if o == nil || (err != nil && ctx.Err() != nil) {
		return
	}
	o.Request(host, status, err, d, retry)
}

func statusOf(resp *http.Response, err error) int {
	if resp == nil || err != nil {
		return 0
	}
	return resp.StatusCode
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	f := t.f
	ctx := req.Context()
	if err := checkScheme(req.URL.Scheme); err != nil {
		closeReqBody(req)
		return nil, err
	}
	// A RoundTripper must not change the caller's request.
	req = req.Clone(ctx)
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", f.opts.UserAgent)
	}
	// Only requests without a body that may be repeated are retried; a POST
	// (MangaDex@Home report) is sent once.
	idempotent := (req.Method == "" || req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody)
	host := strings.ToLower(req.URL.Hostname())
	hs := f.host(host)
	pt, _ := ctx.Value(hookKey).(*pageTrace)

	for attempt := 0; ; attempt++ {
		// Page fetches take a slot of the host's adaptive window first,
		// so that no token is spent waiting. Site API calls and reports
		// do not: they are few, and one held by a slow endpoint must not
		// stall the pages of a host it shares.
		done := func() {}
		if pt != nil {
			if err := hs.ad.acquire(ctx); err != nil {
				closeReqBody(req)
				return nil, err
			}
			done = hs.ad.release
		}
		if err := f.waitHost(ctx, hs, host, req.URL.Path); err != nil {
			done()
			closeReqBody(req)
			return nil, err
		}
		start := time.Now()
		n := attempt // retries so far, for the backoff
		if pt != nil {
			pt.start = start
			n = pt.retried + pt.throttles
		}
		resp, err := f.attempt(ctx, req, done)
		var be *BlockedError
		if err != nil && errors.As(err, &be) {
			// The guard's refusal comes back from the dialer as
			// "dial tcp 10.0.0.1:80: blocked address ...": return the
			// BlockedError itself, so that what http.Client wraps it in
			// reads `Get "URL": blocked address 10.0.0.1 (private
			// network); allow it with [download] allow_networks`.
			err = be
		}
		d := time.Since(start)
		if pt != nil && be == nil {
			hs.ad.feedback(ctx, statusOf(resp, err), err, d)
		}
		wait, hinted := f.backoff(n), false
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
			if ra, ok := retryAfter(resp.Header, time.Now()); ok {
				wait, hinted = ra, true
			}
		}
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			// Pause the host for every job before counting, so that
			// whoever sees the count also sees the pause.
			hs.pause(wait)
			f.countRateLimited(host)
		}
		// The server asked for more patience than we have: fail now, with
		// the wait in words, rather than hold a page for an hour.
		if hinted && wait > maxRetryAfter && retryable(ctx, resp, err) {
			f.observeRequest(ctx, host, resp.StatusCode, nil, d, false)
			drainClose(resp.Body)
			return nil, &RateLimitError{Host: host, Wait: wait}
		}
		throttled := resp != nil && resp.StatusCode == http.StatusTooManyRequests
		outOfTries := attempt >= f.opts.Retries
		if pt != nil {
			outOfTries = !pt.canRetry()
			if throttled {
				// A 429 is the host asking us to slow down, not a failure:
				// a page waits it out (the cuts above slow every job down)
				// for up to maxRetryAfter in all, outside its Retries.
				outOfTries = pt.throttled+wait > maxRetryAfter
			}
		}
		if !idempotent || outOfTries || !retryable(ctx, resp, err) {
			// A page fetch reports its 2xx itself, once the body is read.
			if pt == nil || err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
				f.observeRequest(ctx, host, statusOf(resp, err), err, d, false)
			}
			return resp, err
		}
		if pt != nil && pt.hook != nil {
			pt.hook(resp, err, d)
		}
		f.observeRequest(ctx, host, statusOf(resp, err), err, d, true)
		if resp != nil {
			drainClose(resp.Body)
		}
		f.retries.Add(1)
		switch {
		case pt != nil && throttled:
			pt.throttled += wait
			pt.throttles++
		case pt != nil:
			pt.retried++
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends req once, holding a MaxInFlight slot and a RequestTimeout
// context until the response body is closed; then it calls done (which
// frees the host's slot).
func (f *Fetcher) attempt(ctx context.Context, req *http.Request, done func()) (*http.Response, error) {
	select {
	case f.inflight <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	actx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
	release := func() { cancel(); <-f.inflight; done() }
	f.requests.Add(1)
	resp, err := f.base.RoundTrip(req.WithContext(actx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// waitHost blocks until the host is not paused and every limiter that
// applies lets the request through.
func (f *Fetcher) waitHost(ctx context.Context, hs *hostState, host, path string) error {
	for {
		if d := time.Until(hs.paused()); d > 0 {
			if d > maxRetryAfter {
				return &RateLimitError{Host: host, Wait: d}
			}
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		for _, l := range f.limiters(hs, path) {
			if err := l.Wait(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Wait refuses at once when the deadline comes first.
				return fmt.Errorf("%s: %w", host, &RateLimitError{Host: host, Wait: time.Duration(float64(time.Second) / float64(l.Limit()))})
			}
		}
		// A 429 may have paused the host while we waited for tokens.
		if !time.Now().Before(hs.paused()) {
			return nil
		}
	}
}

func (hs *hostState) paused() time.Time {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.pausedUntil
}

func (hs *hostState) pause(d time.Duration) {
	until := time.Now().Add(d)
	hs.mu.Lock()
	if until.After(hs.pausedUntil) {
		hs.pausedUntil = until
	}
	hs.mu.Unlock()
}

// backoff is exponential with full jitter: uniform in [0, min(max, base·2^n)].
func (f *Fetcher) backoff(attempt int) time.Duration {
	d := f.opts.BackoffMax
	if attempt < 32 {
		if b := f.opts.BackoffBase << attempt; b > 0 && b < d {
			d = b
		}
	}
	return rand.N(d + 1)
}

// retryable: network errors, 5xx (but not 501/505, which will not change)
// and 429. Not: our own cancellation, the address guard, bad schemes,
// certificate errors.
func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		var be *BlockedError
		var rl *RateLimitError
		var ce *tls.CertificateVerificationError
		var ua x509.UnknownAuthorityError
		var hn x509.HostnameError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(err, &be), errors.As(err, &rl), errors.Is(err, errScheme),
			errors.As(err, &ce), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
			return false
		}
		return true
	}
	switch c := resp.StatusCode; {
	case c == http.StatusTooManyRequests:
		return true
	case c == http.StatusNotImplemented, c == http.StatusHTTPVersionNotSupported:
		return false
	case c >= 500:
		return true
	}
	return false
}

// retryAfter reads MangaDex's X-RateLimit-Retry-After (a Unix time in
// seconds) or the standard Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("X-RateLimit-Retry-After")); v != "" {
		if ts, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Unix(ts, 0).Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			s = min(s, 1<<30) // no overflow; far beyond the cap anyway
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drainClose reads a little of an unwanted body so the connection can be
// reused, then closes it.
func drainClose(b io.ReadCloser) {
	if b == nil {
		return
	}
	io.CopyN(io.Discard, b, 64<<10)
	b.Close()
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
