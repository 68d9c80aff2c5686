package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mangabot/mangabot/store"
)

func openFollows(t *testing.T) (*store.Store, string) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func TestFollowFoundOrderAndState(t *testing.T) {
	st, path := openFollows(t)
	a, err := st.PutFollow(store.Follow{ID: store.NewFollowID(), URL: "https://x.test/s/1", Channel: "c1"})
	if err != nil || a.Created.IsZero() {
		t.Fatal(a, err)
	}
	b, _ := st.PutFollow(store.Follow{ID: store.NewFollowID(), URL: "https://x.test/s/2"})
	// Pending records go in with the follow's change, in one transaction.
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
	if len(pa) != 2 || pa[0].Key != "x/0" || pa[1].Key != "x/2" || pa[0].State != store.Pending || pa[0].Follow != a.ID {
		t.Fatalf("pending of a: %+v", pa)
	}
	if err := st.MarkDelivered(pa[0], "m1"); err != nil {
		t.Fatal(err)
	}
	// Reopened (a restart): what was pending still is.
	st.Close()
	st, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pa, _ = st.FoundOf(a.ID, true)
	all, _ := st.FoundOf(a.ID, false)
	if len(pa) != 1 || pa[0].Key != "x/2" || len(all) != 2 || all[0].MessageID != "m1" || all[0].State != store.Delivered {
		t.Fatalf("after restart: pending %+v, all %+v", pa, all)
	}
	g, _, _ := st.GetFollow(a.ID)
	if !g.HasSeen("x/0") || !g.HasSeen("x/2") || g.HasSeen("lost") {
		t.Errorf("seen %v", g.Seen)
	}

	// Removed: its records go, and later updates find nothing.
	if err := st.DeleteFollow(a.ID); err != nil {
		t.Fatal(err)
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

func TestPruneFoundKeepsPending(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, _ := st.PutFollow(store.Follow{ID: store.NewFollowID()})
	got, _ := st.UpdateFollow(f.ID, func(*store.Follow) ([]store.Found, error) {
		return []store.Found{{Key: "1"}, {Key: "2"}, {Key: "3"}}, nil
	})
	st.MarkDelivered(got[0], "m")
	st.MarkDelivered(got[2], "m")
	n, err := st.PruneFound(now.Add(time.Second))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if left, _ := st.FoundOf(f.ID, false); len(left) != 1 || left[0].Key != "2" {
		t.Errorf("left %+v", left)
	}
}

func TestSeenIsBounded(t *testing.T) {
	var f store.Follow
	for i := range store.MaxSeen + 10 {
		f.See(fmt.Sprint(i))
	}
	f.See(fmt.Sprint(store.MaxSeen + 9)) // a known key is not added twice
	if len(f.Seen) != store.MaxSeen || f.HasSeen("0") || !f.HasSeen(fmt.Sprint(store.MaxSeen+9)) {
		t.Errorf("%d seen, first %s", len(f.Seen), f.Seen[0])
	}
}
