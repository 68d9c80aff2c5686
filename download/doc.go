// Package download is the fetcher: one shared HTTP client per process, a
// per-host token bucket and adaptive window (AIMD: cut on 429, 5xx and
// errors, regrown while latency holds) shared by all jobs, one sliding
// window of pages in flight per job across its batches (Window), pages
// handed out in order as they land (Flight.Page), retries that honour
// Retry-After, cancellation through
// context, an address guard checked at dial time and on every redirect, and
// bodies streamed to disk (temp name, renamed when complete).
//
// It owns the types that describe what to fetch (Page, HostLimit, Batch)
// and what was fetched (FetchReport, Result). It knows nothing of sites,
// Discord or PDFs: site handlers (package sites) import it, never the
// reverse.
package download
