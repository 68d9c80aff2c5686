package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/testclock"
)

type env struct {
	t     *testing.T
	root  string // holds cache/ and work/, one file system
	clock *testclock.Clock
}

func newEnv(t *testing.T) *env {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, root: root, clock: testclock.New()}
}

func (e *env) open(keep time.Duration, max int64) *Cache {
	e.t.Helper()
	c, err := Open(filepath.Join(e.root, "cache"), Options{Keep: keep, MaxBytes: max, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// file writes a finished file in the work dir: size bytes starting with
// tag, so a test can tell which put a cached file came from.
func (e *env) file(name, tag string, size int) string {
	e.t.Helper()
	b := bytes.Repeat([]byte{'.'}, size)
	copy(b, tag)
	p := filepath.Join(e.root, "work", name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) put(c *Cache, k Key, tag string, size int) *Lease {
	e.t.Helper()
	l, err := c.Put(k, []string{e.file(tag+".pdf", tag, size)}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// has reports whether key hits and its file carries tag.
func has(t *testing.T, c *Cache, k Key, tag string) bool {
	t.Helper()
	l, ok := c.Get(k)
	if !ok {
		return false
	}
	defer l.Release()
	b, err := os.ReadFile(l.Files[0])
	if err != nil {
		t.Fatalf("hit for %v but: %v", k, err)
	}
	if !bytes.HasPrefix(b, []byte(tag)) {
		t.Fatalf("hit for %v holds %.10q, want %s", k, b, tag)
	}
	return true
}

func key(s string) Key {
	return Key{Site: "mangadex", ChapterID: s, Quality: "original", Format: "pdf"}
}

// entryDirs lists the cache dir's names, for checking what is on disk.
func entryDirs(t *testing.T, c *Cache) []string {
	t.Helper()
	ents, err := os.ReadDir(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestKeyString(t *testing.T) {
	keys := []Key{
		{"a", "b", "c", "d"},
		{"ab", "", "c", "d"},
		{"a", "bc", "", "d"},
		{"b", "a", "c", "d"},
		{"a", "b", "c", "pdf-merge"},
		{"a", "b", "c", "parts-10485760"},
		{"a/../..", "b\x00", "c", "d"},
		{},
	}
	seen := map[string]Key{}
	safe := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, k := range keys {
		s := k.String()
		if !safe.MatchString(s) {
			t.Errorf("%#v.String() = %q: not 32 hex digits", k, s)
		}
		if s != k.String() {
			t.Errorf("%#v.String() not deterministic", k)
		}
		if o, dup := seen[s]; dup {
			t.Errorf("%#v and %#v share %s", k, o, s)
		}
		seen[s] = k
	}
}

func TestPutGet(t *testing.T) {
	e := newEnv(t)
	c := e.open(time.Hour, 0)
	a := e.file("Series - Ch 1.pdf", "one", 100)
	b := e.file("Series - Ch 1-part2.pdf", "two", 50)
	l, err := c.Put(key("1"), []string{a, b}, map[string]string{"title": "Ch 1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != 2 || filepath.Base(l.Files[0]) != "Series - Ch 1.pdf" || filepath.Base(l.Files[1]) != "Series - Ch 1-part2.pdf" {
		t.Fatalf("Put files = %v", l.Files)
	}
	for _, f := range l.Files {
		if !strings.HasPrefix(f, c.Dir()+string(filepath.Separator)) {
			t.Fatalf("%s is not in the cache dir", f)
		}
	}
	for _, src := range []string{a, b} {
		if _, err := os.Stat(src); !os.IsNotExist(err) {
			t.Fatalf("source %s still there (err %v): Put must move", src, err)
		}
	}
	l.Release()
	l.Release() // twice is harmless

	g, ok := c.Get(key("1"))
	if !ok {
		t.Fatal("miss after Put")
	}
	defer g.Release()
	if !slices.Equal(g.Files, l.Files) || g.Meta["title"] != "Ch 1" || !g.Created.Equal(e.clock.Now()) {
		t.Fatalf("Get = %+v", g)
	}
	if got, _ := os.ReadFile(g.Files[1]); len(got) != 50 || !bytes.HasPrefix(got, []byte("two")) {
		t.Fatalf("second file content %q", got)
	}
	if _, ok := c.Get(Key{Site: "mangadex", ChapterID: "1", Quality: "data-saver", Format: "pdf"}); ok {
		t.Fatal("hit for another quality")
	}
	if n, sz := c.Size(); n != 1 || sz != 150 {
		t.Fatalf("Size = %d, %d; want 1, 150", n, sz)
	}
}

func TestPutRejectsAndLeavesSources(t *testing.T) {
	e := newEnv(t)
	c := e.open(0, 0)
	a := e.file("a.pdf", "a", 10)
	if err := os.Mkdir(filepath.Join(e.root, "work", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	dup := filepath.Join(e.root, "work", "sub", "a.pdf")
	if err := os.WriteFile(dup, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][]string{
		"none":      nil,
		"missing":   {a, filepath.Join(e.root, "work", "nope.pdf")},
		"duplicate": {a, dup},
		"reserved":  {a, e.file("meta.json", "{}", 2)},
		"directory": {a, filepath.Join(e.root, "work", "sub")},
	} {
		if _, err := c.Put(key(name), files, nil); err == nil {
			t.Errorf("Put %s: no error", name)
		}
	}
	if _, err := os.Stat(a); err != nil {
		t.Fatalf("a rejected Put moved its source: %v", err)
	}
	if names := entryDirs(t, c); len(names) != 0 {
		t.Fatalf("cache dir after rejected Puts: %v", names)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.open(time.Hour, 0)
	e.put(c, key("1"), "one", 10).Release()
	e.clock.Add(59 * time.Minute)
	if !has(t, c, key("1"), "one") {
		t.Fatal("miss before expiry")
	}
	// Use does not extend the life of an entry.
	e.clock.Add(time.Minute)
	if has(t, c, key("1"), "one") {
		t.Fatal("hit at expiry")
	}

	e.put(c, key("2"), "two", 10).Release()
	e.clock.Add(30 * time.Minute)
	e.put(c, key("3"), "three", 10).Release()
	n, err := c.Sweep(e.clock.Now().Add(30 * time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 removed", n, err)
	}
	if names := entryDirs(t, c); len(names) != 1 || !strings.HasPrefix(names[0], key("3").String()) {
		t.Fatalf("on disk after Sweep: %v", names)
	}
	if n, sz := c.Size(); n != 1 || sz != 10 {
		t.Fatalf("Size = %d, %d", n, sz)
	}
}

func TestQuotaEvictsLeastRecentlyUsed(t *testing.T) {
	e := newEnv(t)
	c := e.open(0, 300)
	for _, s := range []string{"A", "B", "C"} {
		e.put(c, key(s), s, 100).Release()
		e.clock.Add(time.Minute)
	}
	has(t, c, key("A"), "A") // A is now the most recently used
	e.clock.Add(time.Minute)
	e.put(c, key("D"), "D", 100).Release()
	if has(t, c, key("B"), "B") {
		t.Fatal("B, least recently used, survived")
	}
	for _, s := range []string{"A", "C", "D"} {
		if !has(t, c, key(s), s) {
			t.Fatalf("%s evicted", s)
		}
	}
	if n, sz := c.Size(); n != 3 || sz != 300 {
		t.Fatalf("Size = %d, %d", n, sz)
	}
	if names := entryDirs(t, c); len(names) != 3 {
		t.Fatalf("on disk: %v", names)
	}
	// One entry bigger than the quota is served to its putter, then goes.
	big := e.put(c, key("big"), "big", 400)
	if b, err := os.ReadFile(big.Files[0]); err != nil || len(b) != 400 {
		t.Fatalf("big file under lease: %d bytes, %v", len(b), err)
	}
	big.Release()
	if _, sz := c.Size(); sz > 300 {
		t.Fatalf("over quota after release: %d", sz)
	}
}

func TestLeasesHoldFiles(t *testing.T) {
	e := newEnv(t)
	c := e.open(time.Hour, 150)
	a := e.put(c, key("A"), "A", 100)
	e.clock.Add(time.Minute)
	b := e.put(c, key("B"), "B", 100) // over quota, but both are leased
	if _, sz := c.Size(); sz != 200 {
		t.Fatalf("leased entries were evicted: %d bytes left", sz)
	}
	if got, err := os.ReadFile(a.Files[0]); err != nil || !bytes.HasPrefix(got, []byte("A")) {
		t.Fatalf("A's file under lease: %v", err)
	}
	a.Release() // A is least recently used and now free: evicted
	if _, err := os.Stat(a.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("A not evicted on release: %v", err)
	}
	b.Release()
	if !has(t, c, key("B"), "B") {
		t.Fatal("B evicted though within quota")
	}

	// Expired while leased: Get misses at once, files stay until release.
	held, _ := c.Get(key("B"))
	e.clock.Add(2 * time.Hour)
	if n, err := c.Sweep(e.clock.Now()); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if _, ok := c.Get(key("B")); ok {
		t.Fatal("hit on an expired entry")
	}
	if _, err := os.Stat(held.Files[0]); err != nil {
		t.Fatalf("leased file removed by Sweep: %v", err)
	}
	held.Release()
	if _, err := os.Stat(held.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("expired file kept after release: %v", err)
	}
	if n, sz := c.Size(); n != 0 || sz != 0 {
		t.Fatalf("Size = %d, %d", n, sz)
	}
}

func TestReplaceWhileLeased(t *testing.T) {
	e := newEnv(t)
	c := e.open(0, 0)
	old := e.put(c, key("1"), "old", 10)
	e.clock.Add(time.Second)
	e.put(c, key("1"), "new", 10).Release()
	if !has(t, c, key("1"), "new") {
		t.Fatal("Get does not return the replacement")
	}
	if b, err := os.ReadFile(old.Files[0]); err != nil || !bytes.HasPrefix(b, []byte("old")) {
		t.Fatalf("replaced file under lease: %q, %v", b, err)
	}
	old.Release()
	if _, err := os.Stat(old.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("replaced entry kept after release: %v", err)
	}
	if names := entryDirs(t, c); len(names) != 1 {
		t.Fatalf("on disk: %v", names)
	}
	c.Remove(key("1"))
	if _, ok := c.Get(key("1")); ok || len(entryDirs(t, c)) != 0 {
		t.Fatal("Remove left the entry")
	}
}

func TestMissingFilesMiss(t *testing.T) {
	e := newEnv(t)
	c := e.open(0, 0)
	l := e.put(c, key("gone"), "gone", 10)
	l.Release()
	os.Remove(l.Files[0])
	if _, ok := c.Get(key("gone")); ok {
		t.Fatal("hit with the file deleted")
	}
	l = e.put(c, key("cut"), "cut", 10)
	l.Release()
	if err := os.Truncate(l.Files[0], 3); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(key("cut")); ok {
		t.Fatal("hit with the file truncated")
	}
	if names := entryDirs(t, c); len(names) != 0 {
		t.Fatalf("broken entries left on disk: %v", names)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	e := newEnv(t)
	c := e.open(0, 0)
	e.put(c, key("A"), "A", 100).Release()
	e.clock.Add(time.Minute)
	e.put(c, key("B"), "B", 100).Release()
	e.clock.Add(time.Minute)
	has(t, c, key("A"), "A") // A used after B

	// Debris of a crash: a half-made Put, an entry without meta, and a
	// file that is not the cache's.
	dir := c.Dir()
	for _, p := range []string{".put-123/x.pdf", key("C").String() + "-abc/x.pdf"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644)

	c2 := e.open(0, 100) // the quota shrank across the restart
	if n, sz := c2.Size(); n != 2 || sz != 200 {
		t.Fatalf("after reopen Size = %d, %d; want 2, 200", n, sz)
	}
	if names := entryDirs(t, c2); len(names) != 3 || !slices.Contains(names, "README") {
		t.Fatalf("after reopen on disk: %v", names)
	}
	// The last use came through the restart: B goes, not A.
	if n, err := c2.Sweep(e.clock.Now()); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if !has(t, c2, key("A"), "A") || has(t, c2, key("B"), "B") {
		t.Fatal("reopened cache evicted the recently used entry")
	}
}

func TestPutAcrossFileSystems(t *testing.T) {
	e := newEnv(t)
	other, err := os.MkdirTemp("/dev/shm", "cachetest")
	if err != nil {
		t.Skip("no /dev/shm")
	}
	defer os.RemoveAll(other)
	var a, b syscall.Stat_t
	if syscall.Stat(other, &a) != nil || syscall.Stat(e.root, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is not another file system here")
	}
	src := filepath.Join(other, "x.pdf")
	os.WriteFile(src, []byte("cross"), 0o644)
	c := e.open(0, 0)
	l, err := c.Put(key("x"), []string{src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if got, _ := os.ReadFile(l.Files[0]); string(got) != "cross" {
		t.Fatalf("copied %q", got)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatalf("source kept: %v", err)
	}
}

// TestConcurrentUse runs getters, putters and sweeps together under a
// tight quota; every leased file must stay readable and hold its key's
// content, and the books must balance at the end.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	c := e.open(time.Hour, 250)
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var sweeper sync.WaitGroup
	sweeper.Add(1)
	go func() {
		defer sweeper.Done()
		for {
			select {
			case <-stop:
				return
			default:
				c.Sweep(e.clock.Now())
				e.clock.Add(time.Millisecond)
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				k := key(fmt.Sprint((w + r) % 5))
				l, ok := c.Get(k)
				if !ok {
					name := fmt.Sprintf("w%d-r%d.pdf", w, r)
					p := filepath.Join(e.root, "work", name)
					if err := os.WriteFile(p, append([]byte(k.ChapterID+"|"), make([]byte, 100)...), 0o644); err != nil {
						t.Error(err)
						return
					}
					var err error
					if l, err = c.Put(k, []string{p}, nil); err != nil {
						t.Error(err)
						return
					}
				}
				b, err := os.ReadFile(l.Files[0])
				if err != nil || !bytes.HasPrefix(b, []byte(k.ChapterID+"|")) {
					t.Errorf("leased file of %s: %.8q, %v", k.ChapterID, b, err)
				}
				l.Release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	sweeper.Wait()
	if _, err := c.Sweep(e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	n, sz := c.Size()
	if sz > 250 {
		t.Fatalf("%d bytes after all releases, quota 250", sz)
	}
	names := entryDirs(t, c)
	if len(names) != n {
		t.Fatalf("%d entries indexed, on disk %v", n, names)
	}
	var onDisk int64
	for _, name := range names {
		ents, _ := os.ReadDir(filepath.Join(c.Dir(), name))
		for _, f := range ents {
			if f.Name() != metaName {
				fi, _ := f.Info()
				onDisk += fi.Size()
			}
		}
	}
	if onDisk != sz {
		t.Fatalf("Size says %d bytes, disk has %d", sz, onDisk)
	}
}
