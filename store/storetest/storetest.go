// Package storetest is the contract every store.Store implementation
// runs (as rclone's fstests is for its backends): store.Open's bbolt file
// and the NATS JetStream KV store of package cluster.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/testclock"
	"github.com/mangabot/mangabot/store"
)

// Opener opens the store under test with the clock now (nil: the real
// clock). Called again after Close, it must open the same data: a
// restart.
type Opener func(t *testing.T, now func() time.Time) store.Store

// Run runs the contract; fresh gives each test an Opener on empty data.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		f    func(*testing.T, Opener)
	}{
		{"PutGetRoundTrip", putGetRoundTrip},
		{"GetMissingAndDelete", getMissingAndDelete},
		{"PutRejects", putRejects},
		{"UnfinishedInCreationOrder", unfinishedInCreationOrder},
		{"PersistsAcrossReopen", persistsAcrossReopen},
		{"Pages", pages},
		{"ConcurrentUse", concurrentUse},
		{"FollowFoundOrderAndState", followFoundOrderAndState},
		{"PruneFoundKeepsPending", pruneFoundKeepsPending},
		{"ConcurrentFollowUpdates", concurrentFollowUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, fresh(t)) })
	}
}

// open opens a store closed at the test's end (a second Close is
// harmless to the contract: errors of it are ignored).
func open(t *testing.T, o Opener, now func() time.Time) store.Store {
	t.Helper()
	s := o(t, now)
	t.Cleanup(func() { s.Close() })
	return s
}

// FullJob is a job with every field set.
func FullJob(id string) store.Job {
	return store.Job{
		ID:               id,
		Request:          store.Request{URL: "https://example.org/title/" + id, Chapters: "1-3,7", Language: "en", Quality: "data-saver", Merge: true},
		UserID:           "u1",
		GuildID:          "g1",
		ChannelID:        "c1",
		AppID:            "app",
		InteractionID:    "i-" + id,
		InteractionToken: "tok-" + id,
		TokenExpires:     time.Date(2026, 3, 1, 12, 14, 0, 0, time.UTC),
		StatusMessageID:  "m-" + id,
		State:            store.Running,
		PagesDone:        7,
		PagesTotal:       60,
		WorkDir:          "/var/lib/mangabot/jobs/job-" + id,
		Files:            []string{"a.pdf", "b – ü.pdf"},
		Error:            "",
	}
}

func putGetRoundTrip(t *testing.T, o Opener) {
	c := testclock.New()
	s := open(t, o, c.Now)
	in := FullJob("j1")
	got, err := s.Put(in)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Created, want.Updated = c.Now(), c.Now()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Put returned\n%+v\nwant\n%+v", got, want)
	}
	back, ok, err := s.Get("j1")
	if err != nil || !ok {
		t.Fatalf("Get: ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("Get returned\n%+v\nwant\n%+v", back, want)
	}

	// A later Put with a zero Created keeps the first one and moves Updated.
	c.Add(time.Minute)
	upd := in
	upd.State, upd.PagesDone, upd.Error = store.Failed, 9, "site is down"
	if _, err := s.Put(upd); err != nil {
		t.Fatal(err)
	}
	back, _, _ = s.Get("j1")
	if !back.Created.Equal(want.Created) || !back.Updated.Equal(c.Now()) {
		t.Fatalf("Created %v Updated %v; want %v and %v", back.Created, back.Updated, want.Created, c.Now())
	}
	if back.State != store.Failed || back.PagesDone != 9 || back.Error != "site is down" {
		t.Fatalf("update lost: %+v", back)
	}
}

func getMissingAndDelete(t *testing.T, o Opener) {
	s := open(t, o, nil)
	if _, ok, err := s.Get("nope"); ok || err != nil {
		t.Fatalf("Get(missing) ok=%v err=%v", ok, err)
	}
	if _, err := s.Put(FullJob("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get("x"); ok {
		t.Fatal("job still there after Delete")
	}
	if err := s.Delete("x"); err != nil {
		t.Fatalf("Delete of a missing job: %v", err)
	}
}

func putRejects(t *testing.T, o Opener) {
	s := open(t, o, nil)
	for _, id := range []string{"", "../x", "a/b", "a.b", "a b", strings.Repeat("x", 129)} {
		j := FullJob("ok")
		j.ID = id
		if _, err := s.Put(j); err == nil {
			t.Errorf("Put accepted ID %q", id)
		}
	}
	j := FullJob("ok")
	j.State = "paused"
	if _, err := s.Put(j); err == nil {
		t.Error("Put accepted an unknown state")
	}
	if js, _ := s.List(nil); len(js) != 0 {
		t.Fatalf("rejected jobs were stored: %v", js)
	}
}

func unfinishedInCreationOrder(t *testing.T, o Opener) {
	c := testclock.New()
	s := open(t, o, c.Now)
	states := map[string]store.State{"e": store.Queued, "d": store.Done, "c": store.Running, "b": store.Failed, "a": store.Queued, "f": store.Cancelled, "g": store.Running}
	// Put in this order while the clock steps back, so neither IDs nor
	// Created times give the creation order; only the put order does.
	order := []string{"e", "d", "c", "b", "a", "f", "g"}
	for _, id := range order {
		j := FullJob(id)
		j.State = states[id]
		if _, err := s.Put(j); err != nil {
			t.Fatal(err)
		}
		c.Add(-time.Second)
	}
	// Updating a job does not move it.
	j, _, _ := s.Get("e")
	j.PagesDone = 50
	if _, err := s.Put(j); err != nil {
		t.Fatal(err)
	}
	ids := func(js []store.Job) string {
		var out []string
		for _, j := range js {
			out = append(out, j.ID)
		}
		return strings.Join(out, ",")
	}
	un, err := s.Unfinished()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(un); got != "e,c,a,g" {
		t.Fatalf("Unfinished = %s, want e,c,a,g", got)
	}
	all, _ := s.List(nil)
	if got := ids(all); got != "e,d,c,b,a,f,g" {
		t.Fatalf("List(nil) = %s", got)
	}
	done, _ := s.List(func(j store.Job) bool { return j.State.Finished() })
	if got := ids(done); got != "d,b,f" {
		t.Fatalf("finished = %s, want d,b,f", got)
	}
}

func pages(t *testing.T, o Opener) {
	s := open(t, o, nil)
	add := func(u, d string, n, want int) {
		t.Helper()
		got, err := s.AddPages(u, d, n)
		if err != nil || got != want {
			t.Fatalf("AddPages(%s,%s,%d) = %d, %v; want %d", u, d, n, got, err, want)
		}
	}
	add("u1", "2026-03-01", 10, 10)
	add("u1", "2026-03-01", 5, 15)
	add("u2", "2026-03-01", 3, 3)
	add("u1", "2026-03-02", 1, 1)
	add("u1", "2026-03-01", -4, 11) // pages given back
	add("u2", "2026-03-01", -9, 0)  // never below zero
	for _, c := range []struct {
		u, d string
		n    int
	}{{"u1", "2026-03-01", 11}, {"u2", "2026-03-01", 0}, {"u1", "2026-03-02", 1}, {"u3", "2026-03-01", 0}} {
		if n, err := s.PagesOn(c.u, c.d); err != nil || n != c.n {
			t.Errorf("PagesOn(%s,%s) = %d, %v; want %d", c.u, c.d, n, err, c.n)
		}
	}
	if _, err := s.AddPages("u\x00x", "2026-03-01", 1); err == nil {
		t.Error("AddPages accepted a NUL in the user ID")
	}

	n, err := s.PrunePages("2026-03-02")
	if err != nil || n != 2 {
		t.Fatalf("PrunePages = %d, %v; want 2 removed", n, err)
	}
	if n, _ := s.PagesOn("u1", "2026-03-01"); n != 0 {
		t.Fatalf("pruned day still counts %d", n)
	}
	if n, _ := s.PagesOn("u1", "2026-03-02"); n != 1 {
		t.Fatalf("day not before the limit was pruned: %d", n)
	}
	if d := store.Day(time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("x", -5*3600))); d != "2026-03-02" {
		t.Fatalf("Day uses UTC: got %s", d)
	}
}

func concurrentUse(t *testing.T, o Opener) {
	s := open(t, o, nil)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				j := FullJob(fmt.Sprintf("w%d-%d", w, i))
				if _, err := s.Put(j); err != nil {
					t.Error(err)
					return
				}
				if _, ok, err := s.Get(j.ID); !ok || err != nil {
					t.Errorf("Get(%s) ok=%v err=%v", j.ID, ok, err)
				}
				if _, err := s.AddPages("shared", "2026-03-01", 1); err != nil {
					t.Error(err)
				}
				if _, err := s.Unfinished(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Each increment is one transaction; none may be lost to a race.
	if n, _ := s.PagesOn("shared", "2026-03-01"); n != workers*each {
		t.Fatalf("pages = %d, want %d", n, workers*each)
	}
	if js, _ := s.List(nil); len(js) != workers*each {
		t.Fatalf("%d jobs, want %d", len(js), workers*each)
	}
}

// A restart loses nothing: the job (watchers and delivered pieces too)
// and the page counts.
func persistsAcrossReopen(t *testing.T, o Opener) {
	s := o(t, nil)
	exp := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	in := FullJob("keep")
	in.State = store.Delivering
	in.Watchers = []store.Watcher{
		{UserID: "u1", InteractionToken: "t1", TokenExpires: exp, StatusMessageID: "m1", AttachmentLimit: 1},
		{UserID: "u2", InteractionToken: "t2", TokenExpires: exp, AttachmentLimit: 2},
	}
	in.Delivered = map[string]string{"i1/a.pdf": "m9"}
	want, err := s.Put(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPages("u1", "2026-03-01", 12); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, o, nil)
	got, ok, err := s2.Get("keep")
	if err != nil || !ok {
		t.Fatalf("after reopen: ok=%v err=%v", ok, err)
	}
	// time.Now carries a monotonic reading and a local zone that JSON
	// does not keep; compare instants.
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) || !got.Watchers[0].TokenExpires.Equal(exp) {
		t.Fatalf("times changed: %v %v vs %v %v", got.Created, got.Updated, want.Created, want.Updated)
	}
	got.Created, got.Updated, want.Created, want.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for i := range got.Watchers {
		got.Watchers[i].TokenExpires, want.Watchers[i].TokenExpires = exp, exp
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen\n%+v\nwant\n%+v", got, want)
	}
	if n, _ := s2.PagesOn("u1", "2026-03-01"); n != 12 {
		t.Fatalf("pages after reopen = %d, want 12", n)
	}
}

func followFoundOrderAndState(t *testing.T, o Opener) {
	st := o(t, nil)
	a, err := st.PutFollow(store.Follow{ID: store.NewFollowID(), URL: "https://x.test/s/1", Channel: "c1"})
	if err != nil || a.Created.IsZero() {
		t.Fatal(a, err)
	}
	b, _ := st.PutFollow(store.Follow{ID: store.NewFollowID(), URL: "https://x.test/s/2"})
	if _, err := st.PutFollow(store.Follow{ID: "a/b"}); err == nil {
		t.Error("PutFollow accepted a bad ID")
	}
	// Pending records go in with the follow's change, as one change.
	for i, f := range []store.Follow{a, b, a} {
		_, err := st.UpdateFollow(f.ID, func(cur *store.Follow) ([]store.Found, error) {
			k := fmt.Sprintf("x/%d", i)
			cur.See(k)
			return []store.Found{{Key: k}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// An update that fails changes nothing.
	_, err = st.UpdateFollow(a.ID, func(cur *store.Follow) ([]store.Found, error) {
		cur.See("lost")
		return []store.Found{{Key: "lost"}}, errors.New("boom")
	})
	if err == nil {
		t.Fatal("update error swallowed")
	}
	pa, _ := st.FoundOf(a.ID, true)
	if len(pa) != 2 || pa[0].Key != "x/0" || pa[1].Key != "x/2" || pa[0].State != store.Pending || pa[0].Follow != a.ID || pa[0].Seq == pa[1].Seq {
		t.Fatalf("pending of a: %+v", pa)
	}
	if err := st.MarkDelivered(pa[0], "m1"); err != nil {
		t.Fatal(err)
	}
	// Reopened (a restart): what was pending still is.
	st.Close()
	st = open(t, o, nil)
	pa, _ = st.FoundOf(a.ID, true)
	all, _ := st.FoundOf(a.ID, false)
	if len(pa) != 1 || pa[0].Key != "x/2" || len(all) != 2 || all[0].MessageID != "m1" || all[0].State != store.Delivered {
		t.Fatalf("after restart: pending %+v, all %+v", pa, all)
	}
	g, ok, _ := st.GetFollow(a.ID)
	if !ok || !g.HasSeen("x/0") || !g.HasSeen("x/2") || g.HasSeen("lost") || g.URL != a.URL || g.Channel != "c1" {
		t.Errorf("follow after restart: %+v", g)
	}
	if _, ok, err := st.GetFollow("missing"); ok || err != nil {
		t.Errorf("GetFollow(missing) ok=%v err=%v", ok, err)
	}

	// Removed: its records go, and later updates find nothing.
	if err := st.DeleteFollow(a.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFollow(a.ID); err != nil {
		t.Errorf("second DeleteFollow: %v", err)
	}
	if all, _ := st.FoundOf(a.ID, false); len(all) != 0 {
		t.Errorf("records of a removed follow: %+v", all)
	}
	if _, err := st.UpdateFollow(a.ID, func(*store.Follow) ([]store.Found, error) { return nil, nil }); !errors.Is(err, store.ErrNoFollow) {
		t.Errorf("update of a removed follow: %v", err)
	}
	if err := st.MarkDelivered(pa[0], "m2"); !errors.Is(err, store.ErrNoFollow) {
		t.Errorf("mark of a removed follow: %v", err)
	}
	if pb, _ := st.FoundOf(b.ID, true); len(pb) != 1 {
		t.Errorf("b lost its record: %+v", pb)
	}
	if fs, _ := st.Follows(nil); len(fs) != 1 || fs[0].ID != b.ID {
		t.Errorf("follows %+v", fs)
	}
}

func pruneFoundKeepsPending(t *testing.T, o Opener) {
	c := testclock.New()
	st := open(t, o, c.Now)
	f, _ := st.PutFollow(store.Follow{ID: store.NewFollowID()})
	got, err := st.UpdateFollow(f.ID, func(*store.Follow) ([]store.Found, error) {
		return []store.Found{{Key: "1"}, {Key: "2"}, {Key: "3"}}, nil
	})
	if err != nil || len(got) != 3 {
		t.Fatal(got, err)
	}
	st.MarkDelivered(got[0], "m")
	st.MarkDelivered(got[2], "m")
	c.Add(time.Hour)
	n, err := st.PruneFound(c.Now().Add(-time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if left, _ := st.FoundOf(f.ID, false); len(left) != 1 || left[0].Key != "2" {
		t.Errorf("left %+v", left)
	}
	// Delivered after the bound: kept.
	st.MarkDelivered(got[1], "m")
	if n, _ := st.PruneFound(c.Now().Add(-time.Minute)); n != 0 {
		t.Errorf("pruned %d chapters delivered after the bound", n)
	}
}

// Many checks of one follow at once (several gateways, or a check racing
// /manga unfollow's neighbour edits): every chapter is recorded once and
// every key seen, none lost to a conflicting write.
func concurrentFollowUpdates(t *testing.T, o Opener) {
	st := open(t, o, nil)
	f, err := st.PutFollow(store.Follow{ID: store.NewFollowID()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprint(i)
			_, err := st.UpdateFollow(f.ID, func(cur *store.Follow) ([]store.Found, error) {
				cur.See(k)
				return []store.Found{{Key: k}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, _ := st.FoundOf(f.ID, false)
	g, _, _ := st.GetFollow(f.ID)
	seqs := map[uint64]bool{}
	for _, c := range all {
		seqs[c.Seq] = true
	}
	if len(all) != n || len(g.Seen) != n || len(seqs) != n {
		t.Fatalf("%d found (%d distinct seq), %d seen; want %d each", len(all), len(seqs), len(g.Seen), n)
	}
}
