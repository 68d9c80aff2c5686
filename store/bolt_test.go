package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSecondOpenIsInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's flock conflicts between two open files of one process too,
	// so this stands in for a second process.
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || err.Error() != "open job store: "+path+" is locked by another process" {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	s2, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// A store path that is a directory fails with one line naming the
// operation once (it used to read "store P: open P: is a directory",
// wrapped again by each caller).
func TestOpenDirectoryIsOneLine(t *testing.T) {
	path := t.TempDir()
	_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil || err.Error() != "open job store: open "+path+": is a directory" {
		t.Fatalf("Open(dir) = %v", err)
	}
}
