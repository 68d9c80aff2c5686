// Package sites turns links into chapters and pages, laid out as rclone
// lays out its backends: this package holds the interface (Handler, Env,
// Request, Chapter), the typed registry (Register), the one chapter
// selection syntax (ParseSelection) and the one HTTP helper every handler
// uses (Do, DoJSON, DoHTML). Each handler is a package of its own under
// sites/ (sites/mangadex, sites/webtoon, sites/generic, ...) that calls
// Register from init; sites/all imports them all, and sites/sitestest is
// the conformance suite every handler's tests run.
//
// Adding a site: a new package sites/NAME with its tests and testdata/,
// and one line in sites/all.
//
// sites knows nothing of files, PDFs or Discord. It uses download for the
// types the fetcher owns (download.Page, download.HostLimit,
// download.FetchReport); handlers get the fetcher's shared, rate-limited,
// address-guarded *http.Client through Env and return data.
package sites
