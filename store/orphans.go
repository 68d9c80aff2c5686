package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Work directories of jobs live under one root, each named after its job:
//
//	<root>/job-<id>            the job's work dir (JobDir), kept while the job lives
//	<root>/job-<id>.<anything> temp files of the job (e.g. "job-<id>.pdf.tmp")
//
// CleanOrphans removes what no live job owns. The pipeline's own work
// folders (".mangabot-job-*") are not the store's: they are locked by
// the process running them, possibly another one than the bot, and
// pipeline.CleanStale removes those whose process is gone.
const jobPrefix = "job-"

// JobDir is the work directory of the job with the ID under root. The ID
// must be valid (ValidID).
func JobDir(root, id string) string { return filepath.Join(root, jobPrefix+id) }

// jobOf returns the job ID an entry of root belongs to.
func jobOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, jobPrefix)
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, ".")
	return id, ValidID(id)
}

// CleanOrphans removes the entries of root that belong to jobs not in
// live (job IDs; typically every job still in the store). Entries of live
// jobs, and everything not named by the patterns above, are left alone;
// so are the contents of a live job's dir, whose pages a resumed job
// reuses. A missing root is no error. Call it at start-up, before any job
// runs.
func CleanOrphans(root string, live map[string]bool) error {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if id, ok := jobOf(name); !ok || live[id] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
