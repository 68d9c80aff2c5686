// Package store keeps the bot's jobs on disk so they survive a restart or
// a crash: what was asked, where to report progress, how far it got and
// what it produced. It also keeps per-user daily page counters for quotas.
//
// The store is one bbolt file. Every Put, Delete and AddPages is one bbolt
// read-write transaction, committed with fsync before the call returns, so
// a crash (even SIGKILL or power loss) at any point loses nothing that a
// call reported as written. Only one process may have the file open; a
// second Open fails with an error naming the path (see ErrInUse).
//
// Layout (bbolt buckets):
//
//	jobs:  job ID -> JSON of Job plus "seq" (the order of first Put)
//	pages: day "\x00" userID -> decimal page count
package store
