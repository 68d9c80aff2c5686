package cache

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mangabot/mangabot/internal/fsutil"
)

// Key names a cached result. Format tells results of one chapter apart,
// e.g. "pdf", "pdf-merge", "parts-<limit>".
type Key struct {
	Site, ChapterID, Quality, Format string
}

// String is a stable, file-name-safe digest of the key: 32 lowercase hex
// digits. Changing how it is computed empties the cache (Open removes
// entries whose dir name no longer matches their key), so don't lightly.
func (k Key) String() string {
	h := sha256.New()
	// Length prefixes keep {"ab",""} and {"a","b"} apart.
	for _, f := range []string{k.Site, k.ChapterID, k.Quality, k.Format} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

const (
	metaName  = "meta.json"
	putPrefix = ".put-"
	hashLen   = 32
)

// meta is the meta.json of an entry.
type meta struct {
	Key     Key               `json:"key"`
	Files   []string          `json:"files"` // base names, in Put's order
	Sizes   []int64           `json:"sizes"`
	Created time.Time         `json:"created"`
	Meta    map[string]string `json:"meta,omitempty"`
}

type entry struct {
	id      string // Key.String()
	dir     string
	m       meta
	size    int64
	lastUse time.Time
	leases  int
	// gone: no longer in the index (replaced, expired or removed); its
	// dir is deleted when the last lease is released.
	gone bool
}

func (e *entry) paths() []string {
	ps := make([]string, len(e.m.Files))
	for i, f := range e.m.Files {
		ps[i] = filepath.Join(e.dir, f)
	}
	return ps
}

// Options configure Open.
type Options struct {
	// Keep is how long an entry lives after it was put; <= 0: no expiry.
	Keep time.Duration
	// MaxBytes bounds the size of all files; <= 0: no bound.
	MaxBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache is a cache dir. Its methods are safe for concurrent use.
type Cache struct {
	dir string
	o   Options

	mu    sync.Mutex
	index map[string]*entry // by Key.String()
	held  map[*entry]bool   // gone entries still leased
	total int64             // bytes of index and held entries
}

// Lease holds an entry's files on disk until Release.
type Lease struct {
	Files   []string          // paths of the files, in Put's order
	Meta    map[string]string // as given to Put
	Created time.Time         // when the entry was put

	c    *Cache
	e    *entry
	once sync.Once
}

// Release ends the lease; the files may be removed from then on. It is
// safe to call more than once.
func (l *Lease) Release() {
	l.once.Do(func() { l.c.release(l.e) })
}

// Open opens (creating it if needed) the cache in dir, removes incomplete
// and broken entries and loads the rest. It neither expires nor evicts:
// call Sweep for that, at start and then periodically.
func Open(dir string, o Options) (*Cache, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	c := &Cache{dir: dir, o: o, index: map[string]*entry{}, held: map[*entry]bool{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	var errs []error
	for _, de := range ents {
		name := de.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, putPrefix) {
			errs = append(errs, os.RemoveAll(p))
			continue
		}
		if !isEntryName(name) || !de.IsDir() {
			continue
		}
		e, err := load(p)
		if err != nil || e.id != name[:hashLen] {
			errs = append(errs, os.RemoveAll(p))
			continue
		}
		// Two entries of a key are left when a crash came between putting
		// the new one and removing the old; keep the newer.
		if old := c.index[e.id]; old != nil {
			if old.m.Created.After(e.m.Created) {
				errs = append(errs, os.RemoveAll(e.dir))
				continue
			}
			errs = append(errs, os.RemoveAll(old.dir))
			c.total -= old.size
		}
		c.index[e.id] = e
		c.total += e.size
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("open cache %s: %w", dir, err)
	}
	return c, nil
}

func isEntryName(name string) bool {
	if len(name) <= hashLen+1 || name[hashLen] != '-' {
		return false
	}
	for _, r := range name[:hashLen] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// load reads an entry dir and checks its files.
func load(dir string) (*entry, error) {
	mp := filepath.Join(dir, metaName)
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(mp)
	if err != nil {
		return nil, err
	}
	e := &entry{dir: dir, lastUse: st.ModTime()}
	if err := json.Unmarshal(b, &e.m); err != nil {
		return nil, err
	}
	if len(e.m.Files) == 0 || len(e.m.Files) != len(e.m.Sizes) {
		return nil, errors.New("bad meta")
	}
	e.id = e.m.Key.String()
	for i, sz := range e.m.Sizes {
		if filepath.Base(e.m.Files[i]) != e.m.Files[i] {
			return nil, errors.New("bad file name")
		}
		e.size += sz
	}
	if !e.filesOK() {
		return nil, errors.New("files missing")
	}
	return e, nil
}

// filesOK reports whether the entry's files are all there, at their size.
func (e *entry) filesOK() bool {
	for i, p := range e.paths() {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Size() != e.m.Sizes[i] {
			return false
		}
	}
	return true
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// Size returns the number of entries and the bytes their files take
// (including replaced or expired entries still leased).
func (c *Cache) Size() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index), c.total
}

// Put moves the files (regular files with distinct base names, other
// than "meta.json") into a new entry for key, replacing any entry of the
// key, and enforces the quota. It returns a lease on the new entry, whose
// Files are the files' new paths; Release it when done with them.
//
// Files are moved with os.Rename, so they should be on the cache's file
// system; across file systems they are copied and the originals removed.
// On error the files that were moved are moved back where possible and
// the cache is unchanged.
func (c *Cache) Put(key Key, files []string, m map[string]string) (*Lease, error) {
	if len(files) == 0 {
		return nil, errors.New("cache put: no files")
	}
	seen := map[string]bool{metaName: true}
	for _, f := range files {
		b := filepath.Base(f)
		if seen[b] {
			return nil, fmt.Errorf("cache put %s: duplicate or reserved file name", b)
		}
		seen[b] = true
		st, err := os.Lstat(f)
		if err != nil {
			return nil, fmt.Errorf("cache put: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("cache put %s: not a regular file", f)
		}
	}
	tmp, err := os.MkdirTemp(c.dir, putPrefix)
	if err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	mt := meta{Key: key, Created: c.o.Now(), Meta: maps.Clone(m)}
	var moved []string // sources moved so far
	undo := func() {
		for i, src := range moved {
			_ = move(filepath.Join(tmp, mt.Files[i]), src)
		}
		os.RemoveAll(tmp)
	}
	for _, src := range files {
		b := filepath.Base(src)
		dst := filepath.Join(tmp, b)
		if err := move(src, dst); err != nil {
			undo()
			return nil, fmt.Errorf("cache put: %w", err)
		}
		moved = append(moved, src)
		mt.Files = append(mt.Files, b)
		sz, err := syncFile(dst)
		if err != nil {
			undo()
			return nil, fmt.Errorf("cache put: %w", err)
		}
		mt.Sizes = append(mt.Sizes, sz)
	}
	suffix, err := randHex(6)
	if err == nil {
		err = writeMeta(filepath.Join(tmp, metaName), mt)
	}
	if err == nil {
		err = syncDir(tmp)
	}
	final := filepath.Join(c.dir, key.String()+"-"+suffix)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		undo()
		return nil, fmt.Errorf("cache put: %w", err)
	}
	// Past the rename the entry is in place; a failed dir sync only risks
	// losing it in a power cut, which Open copes with.
	_ = syncDir(c.dir)

	e := &entry{id: key.String(), dir: final, m: mt, lastUse: mt.Created, leases: 1}
	for _, sz := range mt.Sizes {
		e.size += sz
	}
	c.mu.Lock()
	var doomed []string
	if old := c.index[e.id]; old != nil {
		doomed = append(doomed, c.dropLocked(old)...)
	}
	c.index[e.id] = e
	c.total += e.size
	doomed = append(doomed, c.evictLocked()...)
	c.mu.Unlock()
	removeAll(doomed)
	return c.lease(e), nil
}

func (c *Cache) lease(e *entry) *Lease {
	return &Lease{Files: e.paths(), Meta: maps.Clone(e.m.Meta), Created: e.m.Created, c: c, e: e}
}

// Get returns a lease on the key's files when the key has an entry that
// has not expired and whose files are all there, and marks it used. A
// hit must be released.
func (c *Cache) Get(key Key) (*Lease, bool) {
	now := c.o.Now()
	c.mu.Lock()
	e := c.index[key.String()]
	if e == nil || e.m.Key != key {
		c.mu.Unlock()
		return nil, false
	}
	if c.expired(e, now) || !e.filesOK() {
		doomed := c.dropLocked(e)
		c.mu.Unlock()
		removeAll(doomed)
		return nil, false
	}
	e.leases++
	if now.After(e.lastUse) {
		e.lastUse = now
		// The mtime of meta.json is the persisted last use; losing an
		// update only changes eviction order, so errors are ignored.
		_ = os.Chtimes(filepath.Join(e.dir, metaName), now, now)
	}
	c.mu.Unlock()
	return c.lease(e), true
}

// Remove drops the key's entry (e.g. when its file turned out bad); its
// files go once no lease holds them.
func (c *Cache) Remove(key Key) {
	c.mu.Lock()
	var doomed []string
	if e := c.index[key.String()]; e != nil {
		doomed = c.dropLocked(e)
	}
	c.mu.Unlock()
	removeAll(doomed)
}

// Sweep removes the entries expired at now or whose files are missing,
// then evicts least recently used entries down to the quota. It returns
// how many entries it dropped and the first error removing them.
func (c *Cache) Sweep(now time.Time) (int, error) {
	c.mu.Lock()
	var doomed []string
	n := 0
	for _, e := range c.index {
		if c.expired(e, now) || !e.filesOK() {
			doomed = append(doomed, c.dropLocked(e)...)
			n++
		}
	}
	before := len(c.index)
	doomed = append(doomed, c.evictLocked()...)
	n += before - len(c.index)
	c.mu.Unlock()
	return n, removeAll(doomed)
}

func (c *Cache) expired(e *entry, now time.Time) bool {
	return c.o.Keep > 0 && now.Sub(e.m.Created) >= c.o.Keep
}

// dropLocked takes e out of the index and returns its dir to remove, or
// nothing while it is leased (release removes it then).
func (c *Cache) dropLocked(e *entry) []string {
	if c.index[e.id] == e {
		delete(c.index, e.id)
	}
	e.gone = true
	if e.leases > 0 {
		c.held[e] = true
		return nil
	}
	c.total -= e.size
	return []string{e.dir}
}

// evictLocked drops unleased entries, least recently used first, until
// the quota holds or only leased entries are left.
func (c *Cache) evictLocked() []string {
	if c.o.MaxBytes <= 0 || c.total <= c.o.MaxBytes {
		return nil
	}
	es := slices.Collect(maps.Values(c.index))
	slices.SortFunc(es, func(a, b *entry) int {
		return cmp.Or(a.lastUse.Compare(b.lastUse), a.m.Created.Compare(b.m.Created), strings.Compare(a.dir, b.dir))
	})
	var doomed []string
	for _, e := range es {
		if c.total <= c.o.MaxBytes {
			break
		}
		if e.leases == 0 {
			doomed = append(doomed, c.dropLocked(e)...)
		}
	}
	return doomed
}

func (c *Cache) release(e *entry) {
	c.mu.Lock()
	e.leases--
	var doomed []string
	if e.leases == 0 {
		if e.gone {
			delete(c.held, e)
			c.total -= e.size
			doomed = []string{e.dir}
		} else {
			// Leases may have kept the cache over its quota.
			doomed = c.evictLocked()
		}
	}
	c.mu.Unlock()
	removeAll(doomed)
}

func removeAll(dirs []string) error {
	var first error
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// move renames src to dst, copying across file systems.
func move(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if err := fsutil.CopyNew(src, dst); err != nil {
		return err // CopyNew removed its partial file; never an existing one
	}
	return os.Remove(src)
}

// syncFile flushes a file to disk and returns its size.
func syncFile(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func writeMeta(p string, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// meta.json's mtime is the last use, which starts at Created.
	return os.Chtimes(p, m.Created, m.Created)
}

func randHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
