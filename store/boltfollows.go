package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketFollows = []byte("follows")
	// bucketFound holds the chapters follows found, keyed by follow ID,
	// "/" and a big-endian sequence, so a follow's chapters list in the
	// order they were found.
	bucketFound = []byte("follow_chapters")
)

// PutFollow writes f (Created is set when zero).
func (s *Bolt) PutFollow(f Follow) (Follow, error) {
	if !ValidID(f.ID) {
		return f, fmt.Errorf("save follow: bad follow ID %q", f.ID)
	}
	if f.Created.IsZero() {
		f.Created = s.now()
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return putFollow(tx, &f) })
	if err != nil {
		return f, fmt.Errorf("save follow %s: %w", f.ID, err)
	}
	return f, nil
}

func putFollow(tx *bolt.Tx, f *Follow) error {
	v, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketFollows).Put([]byte(f.ID), v)
}

func getFollow(tx *bolt.Tx, id string) (*Follow, error) {
	v := tx.Bucket(bucketFollows).Get([]byte(id))
	if v == nil {
		return nil, ErrNoFollow
	}
	var f Follow
	if err := json.Unmarshal(v, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// GetFollow returns the follow with the ID and whether there is one.
func (s *Bolt) GetFollow(id string) (Follow, bool, error) {
	var f *Follow
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		f, err = getFollow(tx, id)
		return err
	})
	if errors.Is(err, ErrNoFollow) {
		return Follow{}, false, nil
	}
	if err != nil {
		return Follow{}, false, fmt.Errorf("load follow %s: %w", id, err)
	}
	return *f, true, nil
}

// Follows returns the follows for which keep returns true (all when nil),
// oldest first.
func (s *Bolt) Follows(keep func(*Follow) bool) ([]Follow, error) {
	var out []Follow
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFollows).ForEach(func(k, v []byte) error {
			var f Follow
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("follow %s: %w", k, err)
			}
			if keep == nil || keep(&f) {
				out = append(out, f)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list follows: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Follow) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// UpdateFollow changes the follow with the ID in one transaction: update
// gets the stored follow and returns the chapters to record as pending
// (in order). An error from update aborts the whole change. A removed
// follow gives ErrNoFollow and records nothing, so a check that was under
// way when the follow was removed posts nothing.
func (s *Bolt) UpdateFollow(id string, update func(f *Follow) ([]Found, error)) ([]Found, error) {
	var recorded []Found
	err := s.db.Update(func(tx *bolt.Tx) error {
		f, err := getFollow(tx, id)
		if err != nil {
			return err
		}
		found, err := update(f)
		if err != nil {
			return err
		}
		f.ID = id
		if err := putFollow(tx, f); err != nil {
			return err
		}
		b := tx.Bucket(bucketFound)
		now := s.now()
		for _, c := range found {
			if c.Seq, err = b.NextSequence(); err != nil {
				return err
			}
			c.Follow, c.State, c.FoundAt = id, Pending, now
			v, err := json.Marshal(c)
			if err != nil {
				return err
			}
			if err := b.Put(foundKey(id, c.Seq), v); err != nil {
				return err
			}
			recorded = append(recorded, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update follow %s: %w", id, err)
	}
	return recorded, nil
}

func foundKey(follow string, seq uint64) []byte {
	k := make([]byte, 0, len(follow)+9)
	k = append(k, follow...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

// DeleteFollow removes a follow and its found chapters; a missing follow
// is no error.
func (s *Bolt) DeleteFollow(id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketFollows).Delete([]byte(id)); err != nil {
			return err
		}
		c := tx.Bucket(bucketFound).Cursor()
		prefix := []byte(id + "/")
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete follow %s: %w", id, err)
	}
	return nil
}

// FoundOf returns the chapters follow id found, oldest first; with
// pendingOnly, those not yet delivered.
func (s *Bolt) FoundOf(id string, pendingOnly bool) ([]Found, error) {
	var out []Found
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFound).Cursor()
		prefix := []byte(id + "/")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var f Found
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if !pendingOnly || f.State == Pending {
				out = append(out, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list chapters of follow %s: %w", id, err)
	}
	return out, nil
}

// MarkDelivered records that found chapter c was posted in messageID.
func (s *Bolt) MarkDelivered(c Found, messageID string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFound)
		k := foundKey(c.Follow, c.Seq)
		if b.Get(k) == nil {
			return ErrNoFollow // removed meanwhile: nothing to mark
		}
		c.State, c.DeliveredAt, c.MessageID = Delivered, s.now(), messageID
		v, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("mark chapter %s of follow %s delivered: %w", c.Key, c.Follow, err)
	}
	return nil
}

// PruneFound deletes delivered chapters older than before (pending ones
// stay until delivered) and returns how many went.
func (s *Bolt) PruneFound(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFound).Cursor()
		for k, v := c.First(); k != nil; {
			var f Found
			if err := json.Unmarshal(v, &f); err == nil && f.State == Delivered && f.DeliveredAt.Before(before) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
				k, v = c.Seek(k) // Delete leaves the cursor; Seek finds the next key
				continue
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("prune found chapters: %w", err)
	}
	return n, nil
}
