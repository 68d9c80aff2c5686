package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/pipeline"
)

// States of a job's Record.
const (
	Queued    = "queued"
	Running   = "running"
	Done      = "done"      // files in the object store, waiting for the gateway
	Failed    = "failed"    // Error says why
	Cancelled = "cancelled" // by the user, through the gateway
	// Delivering: a gateway took the files (revision-checked, so one
	// gateway); they stay in the object store until the bot has the
	// outcome in its own store (Gateway.HandedOver), so a gateway that dies
	// in between takes them again when the job resumes.
	Delivering = "delivering"
	Delivered  = "delivered" // handed over; the files are gone
)

// Record is a job's state in the KV bucket.
type Record struct {
	ID      string                `json:"id"`
	State   string                `json:"state"`
	Worker  string                `json:"worker,omitempty"`
	Attempt int                   `json:"attempt,omitempty"`
	Error   string                `json:"error,omitempty"`
	Files   []File                `json:"files,omitempty"`
	Pages   int                   `json:"pages,omitempty"`
	Bytes   int64                 `json:"bytes,omitempty"`
	Failed  []pipeline.FailedPage `json:"failed,omitempty"`
	Errors  []string              `json:"errors,omitempty"` // chapters that produced no file
	Updated time.Time             `json:"updated"`
}

// File is one finished file, in the object store (Object) or in S3
// (S3Key, relative to [cluster] s3_prefix).
type File struct {
	Object string `json:"object,omitempty"`
	S3Key  string `json:"s3_key,omitempty"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
}

func (r *Record) final() bool {
	switch r.State {
	case Done, Failed, Cancelled, Delivering, Delivered:
		return true
	}
	return false
}

// jobMsg is the message on the jobs stream: what a worker needs to run
// the job. The plan is resolved again on the worker (a plan holds
// functions of the site handler).
type jobMsg struct {
	ID      string           `json:"id"`
	Request pipeline.Request `json:"request"`
	MaxFile int64            `json:"max_file,omitempty"`
}

// errConflict: another writer changed the record first.
var errConflict = errors.New("job record changed meanwhile")

// errNoRecord: the job has no record (expired, or never made).
var errNoRecord = errors.New("no record")

// get reads a job's record; nil when there is none.
func (c *Conn) get(ctx context.Context, id string) (*Record, uint64, error) {
	e, err := c.state.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read job %s: %w", id, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("read job %s: %w", id, err)
	}
	return &r, e.Revision(), nil
}

// put writes r over revision rev (0: create). errConflict when someone
// else wrote first.
func (c *Conn) put(ctx context.Context, r *Record, rev uint64) (uint64, error) {
	r.Updated = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		rev, err = c.state.Create(ctx, r.ID, b)
	} else {
		rev, err = c.state.Update(ctx, r.ID, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("write job %s: %w", r.ID, err)
	}
	return rev, nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// transition applies change to the current record until a
// revision-checked write succeeds. change returns false to write nothing
// (the record is not in a state it may leave). It returns the record as
// written (or as found, with ok false).
func (c *Conn) transition(ctx context.Context, id string, change func(r *Record) bool) (*Record, bool, error) {
	for {
		r, rev, err := c.get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if r == nil {
			return nil, false, fmt.Errorf("job %s: %w", id, errNoRecord)
		}
		if !change(r) {
			return r, false, nil
		}
		if _, err := c.put(ctx, r, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return nil, false, err
		}
		return r, true, nil
	}
}

// Job reads a job's record (nil when there is none): for tools and tests.
func (c *Conn) Job(ctx context.Context, id string) (*Record, error) {
	r, _, err := c.get(ctx, id)
	return r, err
}

// ObjectCount is how many files wait in the object store.
func (c *Conn) ObjectCount(ctx context.Context) (int, error) {
	list, err := c.files.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	return len(list), err
}
