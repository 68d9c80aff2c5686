package download

import (
	"net/http"
	"time"
)

// Page is one image to fetch.
type Page struct {
	URL    string
	Header http.Header // per-page headers (Referer, ...); may be nil
}

// HostLimit is a per-host rate limit (a site handler asks for it; the
// fetcher applies it to every request to the host, across jobs).
type HostLimit struct {
	Host  string  // exact host name, e.g. "api.mangadex.org"
	Rate  float64 // requests per second
	Burst int
	// Path, when set, limits only requests whose path starts with it
	// (MangaDex /at-home/server: 40/minute), in addition to the host limit.
	Path string
}

// FetchReport describes one finished image request.
type FetchReport struct {
	URL      string
	Success  bool
	Cached   bool // X-Cache header starts with HIT
	Bytes    int64
	Duration time.Duration
}
