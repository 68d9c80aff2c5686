//go:build unix

package pipeline

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockCreate opens a work folder's lock file, creating it when missing.
const lockCreate = os.O_RDWR | os.O_CREATE

// tryLock takes an exclusive lock on f without waiting; the kernel drops
// it when the process ends, however it ends.
func tryLock(f *os.File, _ bool) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	if err != nil {
		return fmt.Errorf("lock work folder: %w", err)
	}
	return nil
}
