package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t *testing.T, path string, c *clock) *Store {
	t.Helper()
	o := Options{Timeout: 100 * time.Millisecond}
	if c != nil {
		o.Now = c.Now
	}
	s, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fullJob(id string) Job {
	return Job{
		ID:               id,
		Request:          Request{URL: "https://example.org/title/" + id, Chapters: "1-3,7", Language: "en", Quality: "data-saver", Merge: true},
		UserID:           "u1",
		GuildID:          "g1",
		ChannelID:        "c1",
		AppID:            "app",
		InteractionID:    "i-" + id,
		InteractionToken: "tok-" + id,
		TokenExpires:     time.Date(2026, 3, 1, 12, 14, 0, 0, time.UTC),
		StatusMessageID:  "m-" + id,
		State:            Running,
		PagesDone:        7,
		PagesTotal:       60,
		WorkDir:          "/var/lib/mangabot/jobs/job-" + id,
		Files:            []string{"a.pdf", "b – ü.pdf"},
		Error:            "",
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "a", "b", "jobs.db"), c)
	in := fullJob("j1")
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
	upd.State, upd.PagesDone, upd.Error = Failed, 9, "site is down"
	if _, err := s.Put(upd); err != nil {
		t.Fatal(err)
	}
	back, _, _ = s.Get("j1")
	if !back.Created.Equal(want.Created) || !back.Updated.Equal(c.Now()) {
		t.Fatalf("Created %v Updated %v; want %v and %v", back.Created, back.Updated, want.Created, c.Now())
	}
	if back.State != Failed || back.PagesDone != 9 || back.Error != "site is down" {
		t.Fatalf("update lost: %+v", back)
	}
}

func TestGetMissingAndDelete(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "jobs.db"), nil)
	if _, ok, err := s.Get("nope"); ok || err != nil {
		t.Fatalf("Get(missing) ok=%v err=%v", ok, err)
	}
	if _, err := s.Put(fullJob("x")); err != nil {
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

func TestPutRejects(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "jobs.db"), nil)
	for _, id := range []string{"", "../x", "a/b", "a.b", "a b", strings.Repeat("x", 129)} {
		j := fullJob("ok")
		j.ID = id
		if _, err := s.Put(j); err == nil {
			t.Errorf("Put accepted ID %q", id)
		}
	}
	j := fullJob("ok")
	j.State = "paused"
	if _, err := s.Put(j); err == nil {
		t.Error("Put accepted an unknown state")
	}
	if js, _ := s.List(nil); len(js) != 0 {
		t.Fatalf("rejected jobs were stored: %v", js)
	}
}

func TestUnfinishedInCreationOrder(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "jobs.db"), c)
	states := map[string]State{"e": Queued, "d": Done, "c": Running, "b": Failed, "a": Queued, "f": Cancelled, "g": Running}
	// Put in this order while the clock steps back, so neither IDs nor
	// Created times give the creation order; only the put order does.
	order := []string{"e", "d", "c", "b", "a", "f", "g"}
	for _, id := range order {
		j := fullJob(id)
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
	ids := func(js []Job) string {
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
	done, _ := s.List(func(j Job) bool { return j.State.Finished() })
	if got := ids(done); got != "d,b,f" {
		t.Fatalf("finished = %s, want d,b,f", got)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Put(fullJob("keep"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPages("u1", "2026-03-01", 12); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path, nil)
	got, ok, err := s2.Get("keep")
	if err != nil || !ok {
		t.Fatalf("after reopen: ok=%v err=%v", ok, err)
	}
	// time.Now carries a monotonic reading and a local zone that JSON
	// does not keep; compare instants.
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
		t.Fatalf("times changed: %v %v vs %v %v", got.Created, got.Updated, want.Created, want.Updated)
	}
	got.Created, got.Updated, want.Created, want.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen\n%+v\nwant\n%+v", got, want)
	}
	if n, _ := s2.PagesOn("u1", "2026-03-01"); n != 12 {
		t.Fatalf("pages after reopen = %d, want 12", n)
	}
}

func TestSecondOpenIsInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's flock conflicts between two open files of one process too,
	// so this stands in for a second process.
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || err.Error() != "open job store: "+path+" is locked by another process" {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	s2, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// A store path that is a directory fails with one line naming the
// operation once (it used to read "store P: open P: is a directory",
// wrapped again by each caller).
func TestOpenDirectoryIsOneLine(t *testing.T) {
	path := t.TempDir()
	_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil || err.Error() != "open job store: open "+path+": is a directory" {
		t.Fatalf("Open(dir) = %v", err)
	}
}

func TestPages(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "jobs.db"), nil)
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
	if d := Day(time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("x", -5*3600))); d != "2026-03-02" {
		t.Fatalf("Day uses UTC: got %s", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "jobs.db"), nil)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				j := fullJob(fmt.Sprintf("w%d-%d", w, i))
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

func TestCleanOrphans(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, dir bool) {
		p := filepath.Join(root, name)
		if dir {
			if err := os.MkdirAll(filepath.Join(p, ".mangabot-job-123", "1"), 0o755); err != nil {
				t.Fatal(err)
			}
			p = filepath.Join(p, ".mangabot-job-123", "1", "001.jpg")
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("job-live", true)
	mk("job-live.pdf.tmp", false)
	mk("job-dead", true)
	mk("job-dead.pdf.tmp", false)
	mk(".mangabot-job-4711", true) // the pipeline's (pipeline.CleanStale)
	mk("notes.txt", false)         // not ours
	mk("job-", false)              // no ID: not ours
	if JobDir(root, "live") != filepath.Join(root, "job-live") {
		t.Fatalf("JobDir = %s", JobDir(root, "live"))
	}
	if err := CleanOrphans(root, map[string]bool{"live": true}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(root)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".mangabot-job-4711 job- job-live job-live.pdf.tmp notes.txt" {
		t.Fatalf("left in root: %s", got)
	}
	// A live job's pages, temp dir included, are kept for resuming.
	if _, err := os.Stat(filepath.Join(root, "job-live", ".mangabot-job-123", "1", "001.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := CleanOrphans(filepath.Join(root, "missing"), nil); err != nil {
		t.Fatalf("missing root: %v", err)
	}
}
