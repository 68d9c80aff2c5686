//go:build !unix

package pipeline

import "os"

// lockCreate: without flock, owning a work folder means having created its
// lock file.
const lockCreate = os.O_RDWR | os.O_CREATE | os.O_EXCL

// tryLock: a lock file this process did not create belongs to a run that
// may be alive; its folder is never taken over or removed (a crashed run's
// folder then stays until removed by hand).
func tryLock(_ *os.File, created bool) error {
	if created {
		return nil
	}
	return errLocked
}
