package download

import (
	"context"
	"net/netip"
	"time"
)

// Options configure a Fetcher. The zero value works (defaults below).
type Options struct {
	UserAgent   string  // default "mangabot/dev"
	Rate        float64 // requests/s per host; default 4
	Burst       int     // default 4
	Concurrency int     // pages in flight per job (Window); default 8
	// ReorderBytes bounds the pages a Window keeps on disk done ahead of
	// the first unfinished one (waiting for the writer); default 256 MiB.
	ReorderBytes   int64
	MaxInFlight    int           // requests in flight across all jobs; default 64
	Retries        int           // default 3; negative: none
	ConnectTimeout time.Duration // default 10s
	HeaderTimeout  time.Duration // response headers; default 30s
	RequestTimeout time.Duration // one whole request incl. body; default 2m
	MaxImageBytes  int64         // per page; default 50 MiB
	MaxPages       int           // per job; default 2000
	AllowNetworks  []netip.Prefix
	BackoffBase    time.Duration // first retry delay; default 500ms (tests set it small)
	BackoffMax     time.Duration // default 30s
	HostLimits     []HostLimit
	// Observer is told of every request attempt and every page, for
	// metrics; nil: nobody is told.
	Observer Observer
}

// Observer receives the fetcher's events, for metrics. Its methods are
// called from many goroutines at once, synchronously on the download path,
// so they must be safe for concurrent use and must not block.
type Observer interface {
	// Request is called once per HTTP attempt, by page fetches and by
	// Client() alike, when its outcome is known: for a page's final 2xx
	// response after the body has been read, otherwise when the response
	// headers (or a transport error) arrive. host is the lower-case host
	// name of the attempt (the last hop of a redirect is an attempt of its
	// own); status is 0 when err is set. err is a transport error, or the
	// network error that cut a page body short (the status then is the
	// 2xx received); it is nil for any complete HTTP response, 4xx and 5xx
	// included. d is the time of this attempt alone. retry says the fetcher
	// will send the request again because of this outcome (Stats().Retries
	// counts exactly these). Attempts ended by the caller's own
	// cancellation are not reported.
	Request(host string, status int, err error, d time.Duration, retry bool)
	// Page is called once per page of a job that was fetched (pages kept
	// from an earlier run are not), with its final outcome: ok with the
	// bytes written, or failed (bytes 0). d is the page's whole time in the
	// fetcher: host limits, every attempt and retry delays. A successful
	// page is reported when it is done; a failed one when Fetch ends, since
	// a refresh may still save it. Pages of a cancelled job that were
	// still in flight are not reported.
	Page(ok bool, bytes int64, d time.Duration)
}

// Batch is one chapter's pages to fetch into Dir (the user's download job
// is the bot's business; the fetcher sees only batches of pages).
type Batch struct {
	Pages []Page
	// Dir receives page files named PageFile(i); it must exist. Files
	// already complete there are kept and not fetched again (resume).
	Dir string
	// Progress is called after every page (done or failed) and at the
	// start; calls are serialised. May be nil.
	Progress func(Progress)
	// Refresh, when set, re-resolves the page list (a new image node);
	// the fetcher calls it when pages failed, then retries only those.
	Refresh func(ctx context.Context) ([]Page, error)
	// NoSync skips the fsync of each page before it gets its final name:
	// for pages that will not outlive the process (no resume after a
	// crash), whose syncs would only hold the window up.
	NoSync bool
	// Report, when set, is told of every image fetch (MangaDex@Home
	// reports), from a goroutine of the fetcher's; it must not block long.
	Report func(FetchReport)
}

// Progress is a snapshot of a job.
type Progress struct {
	Total  int
	Done   int // pages complete on disk
	Failed int
	Bytes  int64 // bytes written so far
	// Last is the page event that caused this call (nil at start).
	Last *PageResult
}

// PageResult is the outcome of one page.
type PageResult struct {
	Index int    // 0-based page index
	Path  string // final file when OK
	Bytes int64
	Type  string // sniffed: "jpeg", "png", "gif", "webp", "avif", ...
	Err   error  // nil when OK; a *PageError otherwise
}

// PageError says why a page failed, in words a user understands.
type PageError struct {
	URL    string
	Reason string // "HTTP 404", "timeout", "not an image (text/html)", "too large (> 50 MiB)", "blocked address 10.0.0.1", ...
	Status int    // HTTP status, 0 when none
	Err    error
}

func (e *PageError) Error() string { return e.Reason }
func (e *PageError) Unwrap() error { return e.Err }

// Result of a job: one PageResult per page, in order.
type Result struct {
	Pages  []PageResult
	Bytes  int64
	Failed int
}

// Stats are process-wide counters (for metrics).
type Stats struct {
	Requests, Retries, Pages, Bytes int64
	RateLimited                     map[string]int64 // 429s per host
}
