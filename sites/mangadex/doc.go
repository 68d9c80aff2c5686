// Package mangadex is the MangaDex site handler (API v5): chapter links
// resolve through /chapter and /at-home/server (MangaDex@Home image
// nodes, re-asked when pages fail or after five minutes), title links
// through the paged /manga/{id}/feed with the one selection syntax,
// preferred languages and scanlation groups. Every image fetched from an
// @Home node is reported to the MangaDex@Home report endpoint, as MangaDex
// asks, from a queue that never holds a download. Search serves Discord
// autocomplete.
package mangadex
