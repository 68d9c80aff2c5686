package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/store"
)

// Store is the bot's store.Store on JetStream KV: its jobs, quota counts
// and follows, shared by every gateway of the cluster (and by `bot follow`
// when [cluster] nats_url is set), so a gateway restarted on another
// machine resumes its jobs, and follows do not depend on one disk.
//
// KV has no transactions across keys, so each record that must change as
// one lives under one key, and every change is a revision-checked write
// retried on conflict:
//
//	P-bot-jobs     j.<id>     a job and the order of its first Put
//	               seq        the counter of that order
//	P-bot-quota    d.<day>.<user>   a page count
//	P-bot-follows  f.<id>     a follow with the chapters it found
//	                          (found and seen change in one write)
type Store struct {
	jobs, quota, follows jetstream.KeyValue
	now                  func() time.Time
	timeout              time.Duration
}

var _ store.Store = (*Store)(nil)

// Store opens (creating them if needed) the bot's buckets. now is the
// clock of Created/Updated stamps (nil: time.Now). The Store uses c, which
// its Close leaves open.
func (c *Conn) Store(ctx context.Context, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	p := c.o.Prefix
	s := &Store{now: now, timeout: c.o.AckWait}
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
		ttl  time.Duration
	}{
		{&s.jobs, p + "-bot-jobs", 0},
		// Counts are of single days; the bot prunes them, the TTL is a
		// backstop for a bot that never runs again.
		{&s.quota, p + "-bot-quota", 8 * 24 * time.Hour},
		{&s.follows, p + "-bot-follows", 0},
	} {
		kv, err := ensureKV(ctx, c.js, jetstream.KeyValueConfig{Bucket: b.name,
			Description: "mangabot bot state", TTL: b.ttl, Storage: jetstream.FileStorage})
		if err != nil {
			return nil, fmt.Errorf("open job store: bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	return s, nil
}

// Close releases nothing: the connection is its owner's.
func (s *Store) Close() error { return nil }

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

var plainKey = regexp.MustCompile(`^[-_a-zA-Z0-9]+$`)

// keyPart makes s one token of a KV key, reversibly: plain IDs stay as
// they are, anything else is "=" and its base64url (KV keys allow only
// [-/_=.a-zA-Z0-9]).
func keyPart(s string) string {
	if plainKey.MatchString(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

func fromKeyPart(k string) string {
	if b, ok := strings.CutPrefix(k, "="); ok {
		if d, err := base64.RawURLEncoding.DecodeString(b); err == nil {
			return string(d)
		}
	}
	return k
}

// write creates (rev 0) or updates key at rev; errConflict when another
// writer came first.
func write(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = kv.Create(ctx, key, b)
	} else {
		_, err = kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return errConflict
	}
	return err
}

// read decodes key into v and returns its revision; 0 when there is none.
func read(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return e.Revision(), nil
}

// each calls f with the value of every live key matching filter, in one
// pass of a watcher (no read per key).
func each(ctx context.Context, kv jetstream.KeyValue, filter string, f func(key string, v []byte) error) error {
	w, err := kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended early")
			}
			if e == nil {
				return nil // the current values are all in
			}
			if err := f(e.Key(), e.Value()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// jobRecord is a stored job.
type jobRecord struct {
	store.Job
	Seq uint64 `json:"seq"`
}

func jobKey(id string) string { return "j." + keyPart(id) }

// nextSeq takes the next number of the jobs' put order.
func (s *Store) nextSeq(ctx context.Context) (uint64, error) {
	for {
		var n uint64
		rev, err := read(ctx, s.jobs, "seq", &n)
		if err != nil {
			return 0, err
		}
		n++
		if err := write(ctx, s.jobs, "seq", n, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return 0, err
		}
		return n, nil
	}
}

func (s *Store) Put(j store.Job) (store.Job, error) {
	if err := store.CheckJob(j); err != nil {
		return j, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for {
		r := jobRecord{Job: j}
		var prev jobRecord
		rev, err := read(ctx, s.jobs, jobKey(j.ID), &prev)
		if err != nil {
			return j, fmt.Errorf("save job %s: %w", j.ID, err)
		}
		if rev != 0 {
			r.Seq = prev.Seq
			if r.Created.IsZero() {
				r.Created = prev.Created
			}
		} else if r.Seq, err = s.nextSeq(ctx); err != nil {
			return j, fmt.Errorf("save job %s: %w", j.ID, err)
		}
		now := s.now()
		if r.Created.IsZero() {
			r.Created = now
		}
		r.Updated = now
		if err := write(ctx, s.jobs, jobKey(j.ID), r, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return j, fmt.Errorf("save job %s: %w", j.ID, err)
		}
		return r.Job, nil
	}
}

func (s *Store) Get(id string) (store.Job, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var r jobRecord
	rev, err := read(ctx, s.jobs, jobKey(id), &r)
	if err != nil {
		return store.Job{}, false, fmt.Errorf("load job %s: %w", id, err)
	}
	return r.Job, rev != 0, nil
}

func (s *Store) Delete(id string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.jobs.Purge(ctx, jobKey(id)); err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	return nil
}

func (s *Store) List(keep func(store.Job) bool) ([]store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var rs []jobRecord
	err := each(ctx, s.jobs, "j.>", func(key string, v []byte) error {
		var r jobRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if keep == nil || keep(r.Job) {
			rs = append(rs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	slices.SortFunc(rs, func(a, b jobRecord) int {
		if a.Seq != b.Seq {
			return cmpUint(a.Seq, b.Seq)
		}
		return strings.Compare(a.ID, b.ID)
	})
	js := make([]store.Job, len(rs))
	for i, r := range rs {
		js[i] = r.Job
	}
	return js, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Store) Unfinished() ([]store.Job, error) {
	return s.List(func(j store.Job) bool { return !j.State.Finished() })
}

func pagesKey(userID, day string) string { return "d." + keyPart(day) + "." + keyPart(userID) }

func (s *Store) AddPages(userID, day string, n int) (int, error) {
	if err := store.CheckPages(userID, day); err != nil {
		return 0, fmt.Errorf("count pages: %w", err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for {
		var cur int
		rev, err := read(ctx, s.quota, pagesKey(userID, day), &cur)
		if err != nil {
			return 0, fmt.Errorf("count pages: %w", err)
		}
		total := max(cur+n, 0)
		if err := write(ctx, s.quota, pagesKey(userID, day), total, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return 0, fmt.Errorf("count pages: %w", err)
		}
		return total, nil
	}
}

func (s *Store) PagesOn(userID, day string) (int, error) {
	if err := store.CheckPages(userID, day); err != nil {
		return 0, fmt.Errorf("read page count: %w", err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var n int
	if _, err := read(ctx, s.quota, pagesKey(userID, day), &n); err != nil {
		return 0, fmt.Errorf("read page count: %w", err)
	}
	return n, nil
}

func (s *Store) PrunePages(before string) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	l, err := s.quota.ListKeysFiltered(ctx, "d.>")
	if err != nil {
		return 0, fmt.Errorf("prune page counts: %w", err)
	}
	var doomed []string
	for k := range l.Keys() {
		parts := strings.Split(k, ".")
		if len(parts) == 3 && fromKeyPart(parts[1]) < before {
			doomed = append(doomed, k)
		}
	}
	for _, k := range doomed {
		if err := s.quota.Purge(ctx, k); err != nil {
			return 0, fmt.Errorf("prune page counts: %w", err)
		}
	}
	return len(doomed), nil
}

// followRecord is a stored follow with the chapters it found, so that
// marking chapters seen and recording them pending is one write.
type followRecord struct {
	Follow store.Follow  `json:"follow"`
	Found  []store.Found `json:"found,omitempty"`
	Next   uint64        `json:"next"` // the last Found.Seq given
}

func followKey(id string) string { return "f." + keyPart(id) }

// changeFollow applies change to follow id's record until a
// revision-checked write succeeds; store.ErrNoFollow when there is none
// (create: a missing record starts empty).
func (s *Store) changeFollow(id string, create bool, change func(r *followRecord) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	for {
		var r followRecord
		rev, err := read(ctx, s.follows, followKey(id), &r)
		if err != nil {
			return err
		}
		if rev == 0 && !create {
			return store.ErrNoFollow
		}
		if err := change(&r); err != nil {
			return err
		}
		if err := write(ctx, s.follows, followKey(id), r, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
}

func (s *Store) PutFollow(f store.Follow) (store.Follow, error) {
	if !store.ValidID(f.ID) {
		return f, fmt.Errorf("save follow: bad follow ID %q", f.ID)
	}
	if f.Created.IsZero() {
		f.Created = s.now()
	}
	err := s.changeFollow(f.ID, true, func(r *followRecord) error {
		r.Follow = f
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("save follow %s: %w", f.ID, err)
	}
	return f, nil
}

func (s *Store) GetFollow(id string) (store.Follow, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var r followRecord
	rev, err := read(ctx, s.follows, followKey(id), &r)
	if err != nil {
		return store.Follow{}, false, fmt.Errorf("load follow %s: %w", id, err)
	}
	return r.Follow, rev != 0, nil
}

// records returns every follow's record.
func (s *Store) records() ([]followRecord, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var out []followRecord
	err := each(ctx, s.follows, "f.>", func(key string, v []byte) error {
		var r followRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func (s *Store) Follows(keep func(*store.Follow) bool) ([]store.Follow, error) {
	rs, err := s.records()
	if err != nil {
		return nil, fmt.Errorf("list follows: %w", err)
	}
	var out []store.Follow
	for _, r := range rs {
		if keep == nil || keep(&r.Follow) {
			out = append(out, r.Follow)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Follow) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (s *Store) UpdateFollow(id string, update func(f *store.Follow) ([]store.Found, error)) ([]store.Found, error) {
	var recorded []store.Found
	err := s.changeFollow(id, false, func(r *followRecord) error {
		recorded = nil
		found, err := update(&r.Follow)
		if err != nil {
			return err
		}
		r.Follow.ID = id
		now := s.now()
		for _, c := range found {
			r.Next++
			c.Follow, c.Seq, c.State, c.FoundAt = id, r.Next, store.Pending, now
			r.Found = append(r.Found, c)
			recorded = append(recorded, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update follow %s: %w", id, err)
	}
	return recorded, nil
}

func (s *Store) DeleteFollow(id string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.follows.Purge(ctx, followKey(id)); err != nil {
		return fmt.Errorf("delete follow %s: %w", id, err)
	}
	return nil
}

func (s *Store) FoundOf(id string, pendingOnly bool) ([]store.Found, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var r followRecord
	if _, err := read(ctx, s.follows, followKey(id), &r); err != nil {
		return nil, fmt.Errorf("list chapters of follow %s: %w", id, err)
	}
	var out []store.Found
	for _, c := range r.Found {
		if !pendingOnly || c.State == store.Pending {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Store) MarkDelivered(c store.Found, messageID string) error {
	err := s.changeFollow(c.Follow, false, func(r *followRecord) error {
		i := slices.IndexFunc(r.Found, func(f store.Found) bool { return f.Seq == c.Seq })
		if i < 0 {
			return store.ErrNoFollow // pruned or removed meanwhile
		}
		c.State, c.DeliveredAt, c.MessageID = store.Delivered, s.now(), messageID
		r.Found[i] = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark chapter %s of follow %s delivered: %w", c.Key, c.Follow, err)
	}
	return nil
}

func (s *Store) PruneFound(before time.Time) (int, error) {
	rs, err := s.records()
	if err != nil {
		return 0, fmt.Errorf("prune found chapters: %w", err)
	}
	n := 0
	for _, r := range rs {
		old := func(f store.Found) bool { return f.State == store.Delivered && f.DeliveredAt.Before(before) }
		if !slices.ContainsFunc(r.Found, old) {
			continue
		}
		var cut int
		err := s.changeFollow(r.Follow.ID, false, func(r *followRecord) error {
			before := len(r.Found)
			r.Found = slices.DeleteFunc(r.Found, old)
			cut = before - len(r.Found)
			return nil
		})
		if errors.Is(err, store.ErrNoFollow) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("prune found chapters: %w", err)
		}
		n += cut
	}
	return n, nil
}

// String names the store in logs.
func (s *Store) String() string { return "nats kv " + strconv.Quote(s.jobs.Bucket()) }
