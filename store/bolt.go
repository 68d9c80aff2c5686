package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// record is what is stored: the job plus the order of its first Put,
// which orders Unfinished and List even when clocks tie or step back.
type record struct {
	Job
	Seq uint64 `json:"seq"`
}

var (
	bucketJobs  = []byte("jobs")
	bucketPages = []byte("pages")
)

// ErrInUse is wrapped by Open's error when another process holds the store.
var ErrInUse = errors.New("locked by another process")

// Options tune Open. The zero value means the defaults.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// file before failing with ErrInUse; default 1s.
	Timeout time.Duration
	// Now is the clock for Created and Updated; default time.Now.
	Now func() time.Time
}

// Bolt is the Store in one bbolt file (see the package doc).
type Bolt struct {
	db   *bolt.DB
	path string
	now  func() time.Time
}

// Open opens (creating it and its parent directory if needed) the store
// at path.
func Open(path string, o Options) (*Bolt, error) {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open job store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open job store: %s is %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open job store: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketPages, bucketFollows, bucketFound} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open job store %s: %w", path, err)
	}
	return &Bolt{db: db, path: path, now: o.Now}, nil
}

// Path is the store's file.
func (s *Bolt) Path() string { return s.path }

// Close closes the store and releases its lock.
func (s *Bolt) Close() error { return s.db.Close() }

// Put writes a job, replacing any job with its ID, and returns it as
// written. It sets Updated to now and, when zero, Created (to the stored
// job's Created if there is one, else now). When Put returns nil the job
// is on disk.
func (s *Bolt) Put(j Job) (Job, error) {
	if err := CheckJob(j); err != nil {
		return j, err
	}
	now := s.now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		r := record{Job: j}
		if old := b.Get([]byte(j.ID)); old != nil {
			var prev record
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("job %s: %w", j.ID, err)
			}
			r.Seq = prev.Seq
			if r.Created.IsZero() {
				r.Created = prev.Created
			}
		} else {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			r.Seq = seq
		}
		if r.Created.IsZero() {
			r.Created = now
		}
		r.Updated = now
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		j = r.Job
		return b.Put([]byte(j.ID), v)
	})
	if err != nil {
		return j, fmt.Errorf("save job %s: %w", j.ID, err)
	}
	return j, nil
}

// Get returns the job with the ID and whether there is one.
func (s *Bolt) Get(id string) (Job, bool, error) {
	var r record
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("load job %s: %w", id, err)
	}
	return r.Job, ok, nil
}

// Delete removes the job with the ID; removing a missing job is no error.
func (s *Bolt) Delete(id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	return nil
}

// List returns the jobs for which keep returns true (all when keep is
// nil), in the order they were first put.
func (s *Bolt) List(keep func(Job) bool) ([]Job, error) {
	var rs []record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("job %s: %w", k, err)
			}
			if keep == nil || keep(r.Job) {
				rs = append(rs, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	slices.SortFunc(rs, func(a, b record) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	js := make([]Job, len(rs))
	for i, r := range rs {
		js[i] = r.Job
	}
	return js, nil
}

// Unfinished returns the queued, running and delivering jobs in the order they were
// created (first put): the jobs to resume at start-up.
func (s *Bolt) Unfinished() ([]Job, error) {
	return s.List(func(j Job) bool { return !j.State.Finished() })
}

func pagesKey(userID, day string) ([]byte, error) {
	if err := CheckPages(userID, day); err != nil {
		return nil, err
	}
	return []byte(day + "\x00" + userID), nil
}

// AddPages adds n (which may be negative, to give pages back) to the
// user's page count of the day and returns the new count, never below 0.
// The check and the add are one transaction, so concurrent callers cannot
// both slip under a quota.
func (s *Bolt) AddPages(userID, day string, n int) (int, error) {
	k, err := pagesKey(userID, day)
	if err != nil {
		return 0, fmt.Errorf("count pages: %w", err)
	}
	var total int
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPages)
		cur, err := pagesValue(b.Get(k))
		if err != nil {
			return err
		}
		total = max(cur+n, 0)
		return b.Put(k, []byte(strconv.Itoa(total)))
	})
	if err != nil {
		return 0, fmt.Errorf("count pages: %w", err)
	}
	return total, nil
}

// PagesOn returns the user's page count of the day (0 when none).
func (s *Bolt) PagesOn(userID, day string) (int, error) {
	k, err := pagesKey(userID, day)
	if err != nil {
		return 0, fmt.Errorf("read page count: %w", err)
	}
	var n int
	err = s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = pagesValue(tx.Bucket(bucketPages).Get(k))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read page count: %w", err)
	}
	return n, nil
}

// PrunePages removes the page counts of days before the given day (in
// Day's format) and returns how many it removed; counters of past days
// are of no use once their quota window is over.
func (s *Bolt) PrunePages(before string) (int, error) {
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPages)
		lim := []byte(before)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			day, _, _ := bytes.Cut(k, []byte{0})
			if bytes.Compare(day, lim) >= 0 {
				break // keys sort by day first
			}
			doomed = append(doomed, bytes.Clone(k))
		}
		// Deleting after the scan: bbolt cursors must not be moved over a
		// bucket changed under them.
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		removed = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune page counts: %w", err)
	}
	return removed, nil
}

func pagesValue(v []byte) (int, error) {
	if v == nil {
		return 0, nil
	}
	return strconv.Atoi(string(v))
}
