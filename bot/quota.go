package bot

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mangabot/mangabot/store"
)

// quota enforces the per-user cooldown (in memory: a restart forgets it)
// and the daily page quota (in the store when there is one, so it
// survives restarts; else in memory).
type quota struct {
	daily int
	cd    time.Duration
	now   func() time.Time
	st    store.Store // set by Run before any interaction

	mu   sync.Mutex
	last map[string]time.Time // user -> last accepted request
	mem  map[string]int       // day "\x00" user -> pages
}

func newQuota(c Config) *quota {
	return &quota{daily: c.DailyPages, cd: c.Cooldown, now: c.Now, last: map[string]time.Time{}, mem: map[string]int{}}
}

// cooldown returns how long the user must still wait (0: they may ask).
// It records nothing: accepted records an accepted request.
func (q *quota) cooldown(user string) time.Duration {
	if q.cd <= 0 {
		return 0
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if l, ok := q.last[user]; ok {
		if wait := l.Add(q.cd).Sub(now); wait > 0 {
			return wait
		}
	}
	return 0
}

// accepted starts the user's cooldown: a request of theirs was queued (or
// joined a job).
func (q *quota) accepted(user string) {
	if q.cd <= 0 {
		return
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.last) > 10000 {
		for u, l := range q.last {
			if now.Sub(l) >= q.cd {
				delete(q.last, u)
			}
		}
	}
	q.last[user] = now
}

// charge adds pages to the user's count of the day, or refuses (adding
// nothing) when that would go over the quota. It returns the day charged
// ("" when nothing was).
func (q *quota) charge(user string, pages int) (string, error) {
	if q.daily <= 0 || pages <= 0 {
		return "", nil
	}
	day := store.Day(q.now())
	total, err := q.add(user, day, pages)
	if err != nil {
		return "", fmt.Errorf("could not check your daily page quota; try again later")
	}
	if total > q.daily {
		_, _ = q.add(user, day, -pages)
		return "", fmt.Errorf("this request has %d pages. You have used %d of %d pages today; try again after 00:00 UTC.", pages, total-pages, q.daily)
	}
	return day, nil
}

// refund gives back pages charged on a day (pages of a job that were
// never fetched).
func (q *quota) refund(user, day string, pages int) {
	if day == "" || pages <= 0 {
		return
	}
	_, _ = q.add(user, day, -pages)
}

// add adds n pages to the user's count of day and returns the count.
func (q *quota) add(user, day string, n int) (int, error) {
	if q.st != nil {
		return q.st.AddPages(user, day, n)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if today := store.Day(q.now()); day == today {
		for old := range q.mem {
			if !strings.HasPrefix(old, today+"\x00") {
				delete(q.mem, old)
			}
		}
	}
	k := day + "\x00" + user
	if q.mem[k]+n <= 0 {
		delete(q.mem, k)
		return 0, nil
	}
	q.mem[k] += n
	return q.mem[k], nil
}

// fmtWait renders a wait rounded up to whole seconds.
func fmtWait(d time.Duration) string {
	return (d + time.Second - 1).Truncate(time.Second).String()
}
