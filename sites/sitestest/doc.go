// Package sitestest is the conformance suite every site handler's tests
// run: Run(t, Suite{...}) checks, against the loopback fixture server the
// test started, that the handler takes its own links and no foreign ones,
// resolves a chapter to pages without decoys and with the Referer its CDN
// needs, reports a missing chapter as sites.ErrNotFound said once, refuses
// a bad selection, stops when its context is cancelled, and never works
// without the process's guarded client.
//
// It also holds the helpers site tests share: Fetcher and Env build the
// real fetcher's client with loopback allowed, UA is its User-Agent.
package sitestest
