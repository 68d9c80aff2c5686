package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"
)

// ErrNoFollow is wrapped by the errors of follow updates when the follow
// is gone (removed while it was being checked).
var ErrNoFollow = errors.New("no such follow")

// MaxSeen bounds the chapter keys a follow remembers: older keys fall out,
// and with them only chapters a site lists again after hundreds of newer
// ones.
const MaxSeen = 2000

// Follow is a followed series: where its new chapters go and what of it
// has been seen.
type Follow struct {
	ID string
	// Guild and Channel where new chapters are posted; both empty for the
	// shell's follows (bot follow add/check).
	Guild, Channel string
	By             string // who followed (Discord user ID; "" from the shell)
	URL            string // the series link
	Site, Title    string
	Language       string
	Groups         []string // only chapters of these groups (names, any case); empty: all
	Deliver        string   // "announce", "pdf" or "cbz"

	// Seen holds the keys (sites.Chapter.Key) and "#"+number of every
	// chapter listed so far, newest last; a chapter is new when neither
	// is here.
	Seen []string
	// Since is the newest publish time seen, the cursor of sites that
	// can list by date.
	Since time.Time
	// Last describes the newest chapter seen, for /manga following.
	Last, LastURL string

	NextCheck time.Time
	Failures  int    // checks failed in a row (backoff)
	LastError string // of the last failed check
	// Paused, when set, says why the follow is not checked (deleted
	// channel, left guild); it is kept so members can see it and remove it.
	Paused  string
	Created time.Time
}

// HasSeen reports whether key is among f.Seen.
func (f *Follow) HasSeen(key string) bool { return slices.Contains(f.Seen, key) }

// See adds keys to f.Seen, dropping the oldest beyond MaxSeen.
func (f *Follow) See(keys ...string) {
	for _, k := range keys {
		if k != "" && !f.HasSeen(k) {
			f.Seen = append(f.Seen, k)
		}
	}
	if n := len(f.Seen) - MaxSeen; n > 0 {
		f.Seen = slices.Delete(f.Seen, 0, n)
	}
}

// FoundState is where a found chapter is on its way to the channel.
type FoundState string

const (
	// Pending: recorded as found, not yet posted. After a crash it is
	// posted again (the bot checks the channel first).
	Pending   FoundState = "pending"
	Delivered FoundState = "delivered"
)

// Found is a new chapter a follow found, recorded before it is posted.
type Found struct {
	Follow                                         string // follow ID
	Seq                                            uint64 // order of finding, over all follows
	Key                                            string // sites.Chapter.Key
	URL                                            string // chapter link
	Series, Number, Volume, Title, Group, Language string
	State                                          FoundState
	FoundAt, DeliveredAt                           time.Time
	MessageID                                      string // the post that carried it
}

// NewFollowID returns a fresh random follow ID.
func NewFollowID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
