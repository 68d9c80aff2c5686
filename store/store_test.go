package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mangabot/mangabot/store"
	"github.com/mangabot/mangabot/store/storetest"
)

// The bbolt file keeps the Store contract.
func TestBoltContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "a", "b", "jobs.db")
		return func(t *testing.T, now func() time.Time) store.Store {
			t.Helper()
			s, err := store.Open(path, store.Options{Timeout: time.Second, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// BenchmarkBoltPut: one job update in the bbolt file (fsync included).
func BenchmarkBoltPut(b *testing.B) {
	s, err := store.Open(filepath.Join(b.TempDir(), "jobs.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	j := storetest.FullJob("bench")
	for b.Loop() {
		j.PagesDone++
		if _, err := s.Put(j); err != nil {
			b.Fatal(err)
		}
	}
}
