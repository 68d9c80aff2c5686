package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Pages a worker has fetched are kept in the cluster while the job runs,
// so the worker that takes over after a death fetches only the rest: each
// page file goes to the object store (<job>/p/<chapter>/<file>) and is
// listed in the KV bucket P-pages under <job>.<chapter>.<n>. Pages are
// stored about once a second (pageSyncEvery); what a worker fetched in its
// last second is fetched again. They go when the job ends.

const pageSyncEvery = time.Second

// storedPage is a P-pages entry.
type storedPage struct {
	Object string `json:"object"`
	Path   string `json:"path"` // relative to the work dir: <chapter>/<file>
}

func pageKey(id, rel string) string {
	ch, file := filepath.Split(rel)
	return token(id) + "." + token(strings.Trim(ch, "/")) + "." + token(strings.TrimSuffix(file, filepath.Ext(file)))
}

// pageSync copies a job's complete page files into the cluster.
type pageSync struct {
	c       *Conn
	id, dir string
	mu      sync.Mutex
	stored  map[string]bool // rel paths already in the cluster
}

// restorePages fetches the pages stored for job id into dir and returns
// the sync that keeps storing the new ones.
func (c *Conn) restorePages(ctx context.Context, id, dir string) (*pageSync, int, error) {
	ps := &pageSync{c: c, id: id, dir: dir, stored: map[string]bool{}}
	l, err := c.pages.ListKeysFiltered(ctx, token(id)+".>")
	if err != nil {
		return ps, 0, fmt.Errorf("list stored pages: %w", err)
	}
	defer l.Stop()
	n := 0
	for key := range l.Keys() {
		e, err := c.pages.Get(ctx, key)
		if err != nil {
			continue
		}
		var sp storedPage
		if json.Unmarshal(e.Value(), &sp) != nil || sp.Path == "" || strings.Contains(sp.Path, "..") {
			continue
		}
		path := filepath.Join(dir, sp.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return ps, n, err
		}
		// A temp name that the fetcher passes over until it is complete.
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".restore")
		if err := c.files.GetFile(ctx, sp.Object, tmp); err != nil {
			os.Remove(tmp)
			continue
		}
		if err := os.Rename(tmp, path); err != nil {
			return ps, n, err
		}
		ps.stored[sp.Path] = true
		n++
	}
	return ps, n, nil
}

// store puts every complete page file not stored yet. The fetcher names
// a page file only when it is complete; temp files start with a dot.
func (ps *pageSync) store(ctx context.Context) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	_ = filepath.WalkDir(ps.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") || ctx.Err() != nil {
			return nil
		}
		rel, err := filepath.Rel(ps.dir, path)
		if err != nil || ps.stored[rel] {
			return nil
		}
		rel = filepath.ToSlash(rel)
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		name := ps.id + "/p/" + rel
		if _, err := ps.c.files.Put(ctx, jetstream.ObjectMeta{Name: name}, f); err != nil {
			return nil
		}
		b, _ := json.Marshal(storedPage{Object: name, Path: rel})
		if _, err := ps.c.pages.Put(ctx, pageKey(ps.id, rel), b); err != nil {
			return nil
		}
		ps.stored[rel] = true
		return nil
	})
}

// drop removes the job's stored pages (the job ended).
func (c *Conn) dropPages(id string) {
	ctx, stop := context.WithTimeout(context.Background(), c.o.AckWait)
	defer stop()
	l, err := c.pages.ListKeysFiltered(ctx, token(id)+".>")
	if err != nil {
		return
	}
	defer l.Stop()
	for key := range l.Keys() {
		if e, err := c.pages.Get(ctx, key); err == nil {
			var sp storedPage
			if json.Unmarshal(e.Value(), &sp) == nil {
				_ = c.files.Delete(ctx, sp.Object)
			}
		}
		_ = c.pages.Purge(ctx, key)
	}
}

// StoredPages counts the pages kept in the cluster for a running job.
func (c *Conn) StoredPages(ctx context.Context, id string) (int, error) {
	l, err := c.pages.ListKeysFiltered(ctx, token(id)+".>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer l.Stop()
	n := 0
	for range l.Keys() {
		n++
	}
	return n, nil
}
