package download

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/internal/imagetype"
)

// accept is sent with every page request that sets no Accept of its own.
const accept = "image/avif,image/webp,image/png,image/jpeg,*/*;q=0.5"

// Causes kept in PageError.Err for failures that are not transport errors.
var (
	errStatus   = errors.New("HTTP error status")
	errNotImage = errors.New("not an image")
	errTooLarge = errors.New("too large")
	errRedirect = fmt.Errorf("stopped after %d redirects", maxRedirects)
)

// Fetch downloads batch.Pages into batch.Dir with a sliding window of
// Options.Concurrency pages in flight (a Window of one batch). Pages that fail are reported in the
// Result (Failed, PageResult.Err) and do not make Fetch fail; Fetch returns
// an error only when the job cannot start or ctx ends (then ctx.Err(), with
// the partial Result, and no temp file left behind). batch.Report is called
// once per image request, one call at a time, from a goroutine of its own;
// every call has happened by the time Fetch returns.
func (f *Fetcher) Fetch(ctx context.Context, batch Batch) (*Result, error) {
	w := f.NewWindow(ctx)
	defer w.Close()
	fl, err := w.Add(batch)
	if err != nil {
		return nil, err
	}
	return fl.Wait()
}

// page fetches one page, or keeps a complete file from an earlier run.
func (f *Fetcher) page(ctx context.Context, batch Batch, i int, pg Page, tr *pageTrack) PageResult {
	if r, ok := resume(batch.Dir, i); ok {
		return r
	}
	start := time.Now()
	// One attempt budget for the page, shared with the transport's retries.
	pt := &pageTrace{limit: f.opts.Retries}
	for {
		r, again := f.tryPage(ctx, batch, i, pg, pt)
		// The transport retried what failed before the body; this retries
		// a body cut short, while the page's budget lasts.
		if !again || !pt.canRetry() || ctx.Err() != nil {
			tr.done(ctx, r, time.Since(start))
			return r
		}
		f.retries.Add(1)
		pt.retried++
		if sleep(ctx, f.backoff(pt.retried-1)) != nil {
			tr.done(ctx, r, time.Since(start))
			return r
		}
	}
}

// pageTrack tells the Observer of a Fetch's pages: a page done at once, a
// failed one when Fetch ends (the Refresh round may still save it). Each
// index is written by one worker at a time, and read after the workers
// are gone.
type pageTrack struct {
	obs    Observer
	d      []time.Duration // time spent on the page so far
	failed []bool          // last outcome a failure that was not our cancel
}

func newPageTrack(obs Observer, n int) *pageTrack {
	if obs == nil {
		return nil
	}
	return &pageTrack{obs: obs, d: make([]time.Duration, n), failed: make([]bool, n)}
}

func (t *pageTrack) done(ctx context.Context, r PageResult, d time.Duration) {
	if t == nil {
		return
	}
	t.d[r.Index] += d
	switch {
	case r.Err == nil:
		t.failed[r.Index] = false
		t.obs.Page(true, r.Bytes, t.d[r.Index])
	case ctx.Err() == nil:
		t.failed[r.Index] = true
	}
}

// failures reports the pages that ended failed.
func (t *pageTrack) failures(res *Result) {
	if t == nil {
		return
	}
	for i, r := range res.Pages {
		if t.failed[i] && r.Err != nil {
			t.obs.Page(false, 0, t.d[i])
		}
	}
}

// resume finds a complete final file of page i in dir (files are renamed
// into place only when complete, so any is complete; its magic number is
// checked in case something else wrote it).
func resume(dir string, i int) (PageResult, bool) {
	base := PageFile(dir, i)
	for _, ext := range imagetype.Exts() {
		path := base + ext
		fh, err := os.Open(path)
		if err != nil {
			continue
		}
		head := make([]byte, imagetype.HeadSize)
		n, _ := io.ReadFull(fh, head)
		st, err := fh.Stat()
		fh.Close()
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if typ := sniffImage(head[:n]); typ != "" {
			return PageResult{Index: i, Path: path, Bytes: st.Size(), Type: typ}, true
		}
	}
	return PageResult{}, false
}

// tryPage makes one page request (the transport may retry it) and streams
// the body to a temp file renamed into place when complete. again reports
// a body cut short by the network, worth another try.
//
// pt carries the page's attempt budget across calls; when again is set the
// caller tries again if pt.canRetry(), and the Observer is told so.
func (f *Fetcher) tryPage(ctx context.Context, batch Batch, i int, pg Page, pt *pageTrace) (r PageResult, again bool) {
	var netErr error
	fail := func(reason string, status int, err error) PageResult {
		return PageResult{Index: i, Err: &PageError{URL: pg.URL, Reason: reason, Status: status, Err: err}}
	}
	report := func(ok bool, resp *http.Response, n int64, d time.Duration) {
		// Not a request's fault when we cancelled it.
		if batch.Report == nil || ctx.Err() != nil {
			return
		}
		rep := FetchReport{URL: pg.URL, Success: ok, Bytes: n, Duration: d}
		if resp != nil {
			rep.Cached = strings.HasPrefix(resp.Header.Get("X-Cache"), "HIT")
		}
		batch.Report(rep)
	}
	pt.hook = func(resp *http.Response, _ error, d time.Duration) {
		report(false, resp, 0, d)
	}
	rctx := withPageTrace(ctx, pt)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, pg.URL, nil)
	if err != nil {
		return fail("bad URL", 0, err), false
	}
	for k, v := range pg.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", accept)
	}

	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		reason := errReason(ctx, err)
		if requestMade(err) {
			report(false, nil, 0, time.Since(start))
		}
		return fail(reason, 0, err), false
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// The transport left this attempt to us: tell the Observer how the
		// body ended (netErr: cut short by the network).
		host := strings.ToLower(req.URL.Hostname())
		if resp.Request != nil && resp.Request.URL != nil {
			host = strings.ToLower(resp.Request.URL.Hostname())
		}
		defer func() {
			f.observeRequest(ctx, host, resp.StatusCode, netErr, time.Since(pt.start), again && pt.canRetry() && ctx.Err() == nil)
		}()
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusPartialContent {
		report(false, resp, 0, time.Since(start))
		drainClose(resp.Body)
		reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
		return fail(reason, resp.StatusCode, errStatus), false
	}
	max := f.opts.MaxImageBytes
	tooLarge := fmt.Sprintf("too large (> %s)", humanize.Bytes(max))
	if resp.ContentLength > max {
		// Closing without draining drops the connection: cheaper than
		// reading what we would throw away.
		report(false, resp, 0, time.Since(start))
		return fail(tooLarge, 0, errTooLarge), false
	}

	head := make([]byte, imagetype.HeadSize)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		netErr = err
		report(false, resp, int64(n), time.Since(start))
		return fail(errReason(ctx, err), 0, err), ctx.Err() == nil
	}
	head = head[:n]
	typ := sniffImage(head)
	if typ == "" {
		report(false, resp, int64(n), time.Since(start))
		what := mediaType(head)
		if n == 0 {
			what = "empty"
		}
		return fail(fmt.Sprintf("not an image (%s)", what), 0, errNotImage), false
	}

	tmp, err := os.CreateTemp(batch.Dir, fmt.Sprintf(".%s-*.tmp", baseName(i)))
	if err != nil {
		return fail("cannot write: "+err.Error(), 0, err), false
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	total := int64(n)
	_, err = tmp.Write(head)
	if err == nil {
		var c int64
		// One byte past the limit tells "too large" from "exactly max".
		c, err = io.Copy(tmp, io.LimitReader(resp.Body, max-total+1))
		total += c
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) { // a write error: the disk, not the network
			return fail("cannot write: "+err.Error(), 0, err), false
		}
		netErr = err
		report(false, resp, total, time.Since(start))
		return fail(errReason(ctx, err), 0, err), ctx.Err() == nil
	}
	if total > max {
		report(false, resp, total, time.Since(start))
		return fail(tooLarge, 0, errTooLarge), false
	}
	// Sync before rename: a crash must not leave a final name over a
	// partial file, since resume trusts final names.
	if err = tmp.Chmod(0o644); err == nil {
		if !batch.NoSync {
			err = tmp.Sync()
		}
		if err == nil {
			err = tmp.Close()
		}
	}
	final := PageFile(batch.Dir, i) + extFor(typ)
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		return fail("cannot write: "+err.Error(), 0, err), false
	}
	done = true
	f.pages.Add(1)
	f.bytes.Add(total)
	report(true, resp, total, time.Since(start))
	return PageResult{Index: i, Path: final, Bytes: total, Type: typ}, false
}

func baseName(i int) string {
	b := PageFile("", i)
	return b
}

// requestMade: did err come from talking to the server (worth a Report),
// rather than from our own checks before any request?
func requestMade(err error) bool {
	var be *BlockedError
	var rl *RateLimitError
	return !errors.As(err, &be) && !errors.As(err, &rl) && !errors.Is(err, errScheme) &&
		!errors.Is(err, context.Canceled)
}

// errReason says why a request failed, in words for the user.
func errReason(ctx context.Context, err error) string {
	var be *BlockedError
	var rl *RateLimitError
	var dns *net.DNSError
	var ne net.Error
	var ue *url.Error
	var re tls.RecordHeaderError
	var ce *tls.CertificateVerificationError
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case errors.As(err, &be):
		return be.Error()
	case errors.As(err, &rl):
		return rl.Error()
	case errors.Is(err, errScheme):
		if errors.As(err, &ue) {
			return ue.Err.Error()
		}
		return err.Error()
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "unknown host " + dns.Name
		}
		return "DNS error"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &re), errors.As(err, &ce):
		return "TLS error"
	case errors.Is(err, errRedirect):
		return errRedirect.Error()
	}
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "network error: " + err.Error()
}

// refreshable: a failure new URLs may cure (network, 5xx, 429, and 403:
// MangaDex@Home URLs carry a token that expires), not one they will not
// (404, not an image, too large, blocked).
func refreshable(err error) bool {
	var pe *PageError
	if !errors.As(err, &pe) {
		return false
	}
	if pe.Status != 0 {
		return pe.Status >= 500 || pe.Status == http.StatusTooManyRequests || pe.Status == http.StatusForbidden
	}
	if pe.Err == nil {
		return false // "not fetched": the job was cancelled
	}
	var be *BlockedError
	return !errors.Is(pe.Err, errNotImage) && !errors.Is(pe.Err, errTooLarge) &&
		!errors.Is(pe.Err, errScheme) && !errors.As(pe.Err, &be) && !errors.Is(pe.Err, context.Canceled)
}
