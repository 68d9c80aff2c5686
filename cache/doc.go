// Package cache keeps finished files (PDFs) on disk so an identical
// request is answered without downloading again.
//
// # Layout
//
// Each entry is one directory in the cache dir, holding the entry's files
// under their base names and a meta.json:
//
//	<dir>/<Key.String()>-<random>/meta.json
//	<dir>/<Key.String()>-<random>/<file>...
//	<dir>/.put-<random>/               an entry being put (removed by Open)
//
// Put assembles an entry in a ".put-" dir (files moved in, fsync'd, meta
// written and fsync'd) and renames it into place, so an entry dir either
// is complete or is not there: there is no separate index to get out of
// step. Open rebuilds the index by reading every meta.json; entries whose
// meta is unreadable or whose files are missing or of another size are
// removed. The last use of an entry is the modification time of its
// meta.json (Get touches it), so the eviction order survives restarts.
// Names not matching these patterns are left alone.
//
// # Expiry, quota and leases
//
// An entry expires keep after it was put (not after its last use, so a
// cached file is never older than keep). The quota evicts least recently
// used entries first. Files handed out by Put and Get are leased: until
// the Lease is released its entry is neither evicted nor expired nor
// replaced on disk, so an upload never loses its file; while leases hold
// entries, the cache may exceed its quota.
//
// One Cache must own a dir: two Caches (or processes) on one dir would
// delete each other's entries.
package cache
