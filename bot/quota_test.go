package bot

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/store"
)

func TestCooldownRefuses(t *testing.T) {
	h := start(t, func(c *Config) { c.Cooldown = time.Hour })
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/a?n=2", 0))
	n := site.imgReqs.Load()

	h.refused(h.download("u1", site.URL+"/chapter/b?n=2", 0), "cooldown")
	if site.imgReqs.Load() != n {
		t.Fatal("a refused request fetched pages")
	}
	// Others are not held back.
	tok := h.download("u2", site.URL+"/chapter/c?n=2", 0)
	if cb := h.waitCallback(tok); flags(cb)&64 != 0 {
		t.Fatalf("u2 refused: %v", cb)
	}
	h.waitAttachment(tok)
}

// A request refused after the cooldown check (its link does not resolve)
// does not start the cooldown.
func TestCooldownOnlyForAccepted(t *testing.T) {
	h := start(t, func(c *Config) { c.Cooldown = time.Hour })
	site := newSite(t, 60, false)
	h.refused(h.download("u1", site.URL+"/nothing-here", 0), "❌")
	tok := h.download("u1", site.URL+"/chapter/ok?n=2", 0)
	h.waitAttachment(tok)
	h.refused(h.download("u1", site.URL+"/chapter/ok2?n=2", 0), "cooldown")
}

func TestDailyPagesQuota(t *testing.T) {
	h := start(t, func(c *Config) {
		c.DailyPages = 5
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
	})
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/a?n=3", 0))
	h.waitIdle()
	n := site.imgReqs.Load()
	h.refused(h.download("u1", site.URL+"/chapter/b?n=3", 0), "You have used 3 of 5 pages today; try again after 00:00 UTC")
	if site.imgReqs.Load() != n {
		t.Fatal("a refused request fetched pages")
	}
	// What still fits goes through, then nothing more.
	h.waitAttachment(h.download("u1", site.URL+"/chapter/c?n=2", 0))
	h.refused(h.download("u1", site.URL+"/chapter/d?n=1", 0), "You have used 5 of 5 pages today")
	// Another user has their own count.
	h.waitAttachment(h.download("u2", site.URL+"/chapter/b?n=3", 0))
	if got, err := h.bot.st.PagesOn("u1", time.Now().UTC().Format(time.DateOnly)); err != nil || got != 5 {
		t.Fatalf("stored count of u1: %d %v", got, err)
	}
}

// Pages of a cancelled job that were never fetched go back to the quota.
func TestCancelRefundsQuota(t *testing.T) {
	h := start(t, func(c *Config) { c.DailyPages = 5 })
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/q1?n=4", 0)
	id := h.jobID(tok)
	h.click("u1", 0, "cancel:"+id)
	h.waitFor("cancelled", h.originalHas(tok, "Cancelled"))
	h.waitIdle()
	site.release(100)
	tok2 := h.download("u1", site.URL+"/chapter/q2?n=4", 0)
	if cb := h.waitCallback(tok2); flags(cb)&64 != 0 {
		t.Fatalf("refused: %v", cb)
	}
	h.waitAttachment(tok2)
}

// testQuota is a quota on a settable clock.
func testQuota(cooldown time.Duration, daily int) (*quota, *time.Time) {
	now := time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC)
	q := newQuota(Config{Cooldown: cooldown, DailyPages: daily, Now: func() time.Time { return now }})
	return q, &now
}

func TestQuotaCooldown(t *testing.T) {
	q, now := testQuota(time.Minute, 0)
	if w := q.cooldown("u1"); w != 0 {
		t.Fatalf("cooldown before any request: %v", w)
	}
	q.accepted("u1")
	if w := q.cooldown("u1"); w != time.Minute {
		t.Fatalf("cooldown right after a request: %v, want 1m", w)
	}
	if w := q.cooldown("u2"); w != 0 {
		t.Fatalf("another user waits %v", w)
	}
	*now = now.Add(45 * time.Second)
	if w := q.cooldown("u1"); w != 15*time.Second {
		t.Fatalf("cooldown after 45s: %v, want 15s", w)
	}
	*now = now.Add(15 * time.Second)
	if w := q.cooldown("u1"); w != 0 {
		t.Fatalf("cooldown when over: %v", w)
	}
	if got := fmtWait(14*time.Second + time.Millisecond); got != "15s" {
		t.Errorf("fmtWait rounds to %q, want 15s (up)", got)
	}
}

func TestQuotaNoCooldownConfigured(t *testing.T) {
	q, _ := testQuota(0, 0)
	q.accepted("u1")
	if w := q.cooldown("u1"); w != 0 {
		t.Fatalf("cooldown %v without one configured", w)
	}
	if day, err := q.charge("u1", 1e6); err != nil || day != "" {
		t.Fatalf("unlimited quota charged: %q %v", day, err)
	}
}

func TestQuotaDailyPages(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		q, now := testQuota(0, 10)
		if withStore {
			st, err := store.Open(filepath.Join(t.TempDir(), "q.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			q.st = st
		}
		day, err := q.charge("u1", 6)
		if err != nil || day != "2026-03-04" {
			t.Fatalf("store %v: first charge: %q %v", withStore, day, err)
		}
		// Over the quota: refused, with the counts, and nothing added.
		if _, err := q.charge("u1", 5); err == nil || !strings.Contains(err.Error(), "used 6 of 10") {
			t.Fatalf("store %v: over quota: %v", withStore, err)
		}
		if _, err := q.charge("u2", 10); err != nil {
			t.Fatalf("store %v: another user: %v", withStore, err)
		}
		if _, err := q.charge("u1", 4); err != nil {
			t.Fatalf("store %v: up to the quota: %v", withStore, err)
		}
		if _, err := q.charge("u1", 1); err == nil {
			t.Fatalf("store %v: charged past the quota", withStore)
		}
		// Pages never fetched are given back.
		q.refund("u1", day, 3)
		if _, err := q.charge("u1", 3); err != nil {
			t.Fatalf("store %v: refunded pages not usable: %v", withStore, err)
		}
		if _, err := q.charge("u1", 1); err == nil {
			t.Fatalf("store %v: refund gave back more than it should", withStore)
		}
		q.refund("u1", "", 5) // nothing was charged: nothing happens
		// A new UTC day starts from zero.
		*now = now.Add(time.Hour)
		if day, err := q.charge("u1", 10); err != nil || day != "2026-03-05" {
			t.Fatalf("store %v: next day: %q %v", withStore, day, err)
		}
	}
}
