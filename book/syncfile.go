package book

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// syncEvery is how much an output grows between background syncs.
const syncEvery = 4 << 20

// syncingFile flushes what was written to disk in the background every
// syncEvery bytes, while the pages still downloading are awaited, so that
// the sync before the rename has only the tail left to do.
type syncingFile struct {
	*os.File
	n    int64 // written since the last sync began
	busy atomic.Bool
	wg   sync.WaitGroup
}

func (s *syncingFile) Write(p []byte) (int, error) {
	n, err := s.File.Write(p)
	s.wrote(int64(n))
	return n, err
}

// ReadFrom keeps the file's own ReadFrom (copy_file_range) for page data.
func (s *syncingFile) ReadFrom(r io.Reader) (int64, error) {
	n, err := s.File.ReadFrom(r)
	s.wrote(n)
	return n, err
}

func (s *syncingFile) wrote(n int64) {
	s.n += n
	if s.n < syncEvery || !s.busy.CompareAndSwap(false, true) {
		return
	}
	s.n = 0
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.busy.Store(false)
		// An error shows again at the final Sync, which is checked.
		_ = s.File.Sync()
	}()
}

// wait lets a background sync finish (before the final Sync or Close).
func (s *syncingFile) wait() { s.wg.Wait() }
