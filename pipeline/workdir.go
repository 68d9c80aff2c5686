package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A run without a caller-owned work dir downloads into a folder of its own
// in the output directory, ".mangabot-job-<id>", and writes its PDFs there
// under temporary names before renaming them into place. The folder holds
// a lock file that its process keeps locked (and that records its pid for
// people): a SIGKILL or an out-of-memory kill releases the lock, so the
// next run can tell a dead run's folder from a live one. A rerun for the
// same output resumes from the dead run's pages; other dead runs' folders
// are removed.

const (
	workPrefix = ".mangabot-job-"
	lockName   = ".lock"
	// unlockedAge: a folder without a lock file younger than this may be
	// one another process has just created; older ones (or left by an
	// older version) are stale.
	unlockedAge = time.Minute
)

// workDir is a locked work folder.
type workDir struct {
	path string
	lock *os.File
}

// workID names the work folder of a run writing req's output (into dir,
// or as file): the same request and output give the same folder.
func workID(req Request, dir, file string) string {
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	h := sha256.Sum256([]byte(req.Key() + "\x00" + abs(dir) + "\x00" + abs(file)))
	return hex.EncodeToString(h[:8])
}

// openWorkDir takes the work folder id in dir: a dead run's folder of the
// same id is resumed, a live one is left alone (this run gets a folder of
// its own), and other dead runs' folders are removed.
func openWorkDir(dir, id string) (*workDir, error) {
	if _, err := CleanStale(dir, id); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, workPrefix+id)
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	if w, err := lockWorkDir(path); err == nil {
		return w, nil
	} else if !errors.Is(err, errLocked) {
		return nil, err
	}
	// The same output is being written by a live run: do not share.
	path, err := os.MkdirTemp(dir, workPrefix+id+"-")
	if err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	return lockWorkDir(path)
}

var errLocked = errors.New("work folder in use")

// lockWorkDir locks path's lock file and records the pid in it.
func lockWorkDir(path string) (*workDir, error) {
	f, err := os.OpenFile(filepath.Join(path, lockName), lockCreate, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, errLocked
	}
	if err != nil {
		return nil, fmt.Errorf("lock work folder: %w", err)
	}
	if err := tryLock(f, true); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &workDir{path: path, lock: f}, nil
}

// remove deletes the folder and then gives up its lock.
func (w *workDir) remove() error {
	err := os.RemoveAll(w.path)
	w.lock.Close()
	return err
}

// CleanStale removes the work folders in dir whose run is gone (their lock
// is free), except the one named keep (an id; "" keeps none). It returns
// the removed paths. `bot run` calls it at start; every run calls it
// before writing into dir.
func CleanStale(dir, keep string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("clean work folders: %w", err)
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, workPrefix) || (keep != "" && name == workPrefix+keep) {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR, 0)
		if err != nil {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < unlockedAge {
				continue
			}
		} else {
			err := tryLock(f, false)
			if err != nil {
				f.Close()
				continue // alive
			}
		}
		err = os.RemoveAll(path)
		if f != nil {
			f.Close()
		}
		if err != nil {
			return removed, fmt.Errorf("clean work folders: %w", err)
		}
		removed = append(removed, path)
	}
	return removed, nil
}
