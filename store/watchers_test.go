package store

import (
	"path/filepath"
	"testing"
	"time"
)

// Watchers and delivered pieces survive a reopen.
func TestWatchersAndDeliveredPersist(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	j := Job{ID: "w1", State: Delivering, Watchers: []Watcher{
		{UserID: "u1", InteractionToken: "t1", TokenExpires: exp, StatusMessageID: "m1", AttachmentLimit: 1},
		{UserID: "u2", InteractionToken: "t2", TokenExpires: exp, AttachmentLimit: 2},
	}, Delivered: map[string]string{"i1/a.pdf": "m9"}}
	if _, err := s.Put(j); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(p, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.Get("w1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if len(got.Watchers) != 2 || got.Watchers[1].UserID != "u2" || got.Watchers[0].StatusMessageID != "m1" ||
		!got.Watchers[0].TokenExpires.Equal(exp) || got.Delivered["i1/a.pdf"] != "m9" {
		t.Fatalf("got %+v", got)
	}
}
