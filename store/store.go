package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// State of a job.
type State string

const (
	Queued  State = "queued"
	Running State = "running"
	// Delivering: the files are made (Job.Files) and being handed over;
	// after a restart the bot checks whether they arrived before it
	// delivers again.
	Delivering State = "delivering"
	Done       State = "done"
	Failed     State = "failed"
	Cancelled  State = "cancelled"
)

// Finished reports whether a job in this state will not run again.
func (s State) Finished() bool { return s == Done || s == Failed || s == Cancelled }

func (s State) valid() bool {
	switch s {
	case Queued, Running, Delivering, Done, Failed, Cancelled:
		return true
	}
	return false
}

// Job is one download as the bot persists it: enough to resume it after a
// restart and to keep reporting to whoever asked.
type Job struct {
	ID      string
	Request Request

	// Who asked and where.
	UserID, GuildID, ChannelID string

	// The interaction that created the job. Its token can edit the
	// response until TokenExpires; after that the bot token and ChannelID
	// must be used.
	AppID, InteractionID, InteractionToken string
	TokenExpires                           time.Time
	// StatusMessageID is the message id of the status message (for an
	// interaction response, the id of @original).
	StatusMessageID string
	// AttachmentLimit is the requester's upload limit in bytes (from the
	// interaction), which sizes the parts of the result.
	AttachmentLimit int64

	State                 State
	PagesDone, PagesTotal int
	// WorkDir is the job's page directory. It is kept across restarts so
	// a resumed job reuses the pages it already has; see JobDir and
	// CleanOrphans.
	WorkDir string
	Files   []string // finished files
	Error   string   // why it failed or was cancelled

	// Watchers are everyone waiting for the job's result (the first is
	// the one named by the fields above), so a job someone joined is
	// delivered to all of them after a restart. Empty in records of older
	// versions: the fields above are the only watcher.
	Watchers []Watcher `json:",omitempty"`
	// Delivered maps each piece of the result already handed over (a
	// watcher's interaction id "/" a file name, or "/links") to the
	// message that carries it, written right after each send, so a job
	// resumed while delivering sends nothing twice.
	Delivered map[string]string `json:",omitempty"`

	// Created is set by the first Put when zero; Updated by every Put.
	Created, Updated time.Time
}

// Request is what the user asked for, as the job keeps it. Its fields are
// those of pipeline.Request, so each converts to the other
// (pipeline.Request(j.Request)); store keeps its own type so that
// persistence does not depend on the downloader.
type Request struct {
	URL      string
	Chapters string
	Language string
	Quality  string
	Merge    bool
	// Format is "pdf", "cbz" or "epub"; jobs stored before formats
	// existed have "" (they were PDFs).
	Format string
	Fit    string `json:",omitempty"` // "": the default of when it ran
	Strip  bool   `json:",omitempty"`
}

// Watcher is one requester of a job: where their status message is and
// how to reach it.
type Watcher struct {
	UserID, GuildID, ChannelID             string
	AppID, InteractionID, InteractionToken string
	TokenExpires                           time.Time
	StatusMessageID                        string
	AttachmentLimit                        int64
}

// ValidID reports whether id can name a job: 1 to 128 bytes without
// '/', '\', '.', NUL or spaces, so it is safe in file names (JobDir).
func ValidID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, "/\\.\x00 \t\r\n")
}

// CheckJob says what makes j unfit to store (nil: fit); every Store
// implementation calls it in Put.
func CheckJob(j Job) error {
	if !ValidID(j.ID) {
		return fmt.Errorf("save job: bad job ID %q", j.ID)
	}
	if !j.State.valid() {
		return fmt.Errorf("save job %s: unknown state %q", j.ID, j.State)
	}
	return nil
}

// CheckPages says what makes a page counter's user or day unfit (NUL
// bytes, which no Discord ID or Day holds).
func CheckPages(userID, day string) error {
	if strings.ContainsRune(userID, 0) || strings.ContainsRune(day, 0) {
		return errors.New("NUL in user or day")
	}
	return nil
}

// Day is the quota day of t: its UTC date, "2006-01-02". Such days sort
// as strings in date order, which PrunePages relies on.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Store is the bot's persistent state: its jobs, the users' daily page
// counts and the follows with the chapters they found. Open gives the
// embedded bbolt file (the default, one process); package cluster gives
// one on NATS JetStream KV that many gateways share. Every method is safe
// for concurrent use, and a call that returns nil has made its change
// durable. storetest.Run checks an implementation against this contract.
type Store interface {
	// Put writes a job, replacing any job with its ID, and returns it as
	// written: Updated set to now and, when zero, Created (to the stored
	// job's Created if there is one, else now).
	Put(j Job) (Job, error)
	// Get returns the job with the ID and whether there is one.
	Get(id string) (Job, bool, error)
	// Delete removes the job with the ID; a missing job is no error.
	Delete(id string) error
	// List returns the jobs keep selects (all when nil), in the order
	// they were first put, which is not their Created order when clocks
	// tie or step back.
	List(keep func(Job) bool) ([]Job, error)
	// Unfinished lists the queued, running and delivering jobs in the
	// order of List: the jobs to resume at start-up.
	Unfinished() ([]Job, error)

	// AddPages adds n (negative: pages given back) to the user's count of
	// the day and returns the new count, never below 0. Concurrent calls
	// never lose an increment, so callers cannot both slip under a quota.
	AddPages(userID, day string, n int) (int, error)
	// PagesOn returns the user's count of the day (0 when none).
	PagesOn(userID, day string) (int, error)
	// PrunePages removes the counts of days before the given day (in
	// Day's format) and returns how many it removed.
	PrunePages(before string) (int, error)

	// PutFollow writes f (Created is set when zero).
	PutFollow(f Follow) (Follow, error)
	// GetFollow returns the follow with the ID and whether there is one.
	GetFollow(id string) (Follow, bool, error)
	// Follows returns the follows keep selects (all when nil), oldest
	// first.
	Follows(keep func(*Follow) bool) ([]Follow, error)
	// UpdateFollow changes the follow with the ID and records the
	// chapters update returns as pending, as one change: both or
	// neither. An error from update aborts it. A removed follow gives
	// ErrNoFollow and records nothing. update may be called more than
	// once (a store without transactions retries on a conflicting
	// write), so it must change nothing but *f.
	UpdateFollow(id string, update func(f *Follow) ([]Found, error)) ([]Found, error)
	// DeleteFollow removes a follow and its found chapters; a missing
	// follow is no error.
	DeleteFollow(id string) error
	// FoundOf returns the chapters follow id found, oldest first; with
	// pendingOnly, those not yet delivered.
	FoundOf(id string, pendingOnly bool) ([]Found, error)
	// MarkDelivered records that found chapter c was posted in
	// messageID; ErrNoFollow when its follow was removed.
	MarkDelivered(c Found, messageID string) error
	// PruneFound deletes delivered chapters delivered before the time
	// (pending ones stay) and returns how many went.
	PruneFound(before time.Time) (int, error)

	// Close releases the store.
	Close() error
}
