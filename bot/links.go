package bot

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/tick"
)

// Publisher hands out a URL for a file too big to attach: the bot's own
// signed links (links, below) or, through Config.Links, another store's
// (package s3store's presigned bucket URLs).
type Publisher interface {
	// Publish makes the file at path downloadable and returns its URL. It
	// may move the file away; the caller removes whatever is left.
	Publish(ctx context.Context, path string) (string, error)
	// Sweep removes published files whose links have expired.
	Sweep(ctx context.Context) error
}

// links publishes files under HMAC-SHA256-signed, expiring URLs:
//
//	PUBLIC/dl/<id>/<name>?e=<unix expiry>&s=<hex hmac(id "/" name "\n" e)>
//
// Files live in dir/<id>/<name>; the handler opens them through an
// os.Root on dir, so nothing outside it is reachable, and serves only
// exact, signed, unexpired paths (no listings).
type links struct {
	dir    string
	public string
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	random bool // the key is random per process: old links are dead
}

func newLinks(dir, public, secret string, ttl time.Duration) (*links, error) {
	key := []byte(secret)
	random := len(key) == 0
	if random {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	return &links{dir: dir, public: strings.TrimSuffix(public, "/"), secret: key, ttl: ttl, now: time.Now, random: random}, nil
}

// makeDir creates the links directory (at Run, once connected).
func (l *links) makeDir() error { return os.MkdirAll(l.dir, 0o700) }

// clearDead removes the files of links signed by a previous process's
// random key: nobody can fetch them any more.
func (l *links) clearDead() {
	if !l.random {
		return
	}
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		os.RemoveAll(filepath.Join(l.dir, e.Name()))
	}
}

func (l *links) sign(id, name string, exp int64) string {
	m := hmac.New(sha256.New, l.secret)
	fmt.Fprintf(m, "%s/%s\n%d", id, name, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// Publish moves src under the links dir and returns its signed URL.
func (l *links) Publish(_ context.Context, src string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b)
	name := filepath.Base(src)
	if err := os.MkdirAll(filepath.Join(l.dir, id), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(src, filepath.Join(l.dir, id, name)); err != nil {
		os.Remove(filepath.Join(l.dir, id))
		return "", err
	}
	exp := l.now().Add(l.ttl).Unix()
	return fmt.Sprintf("%s/dl/%s/%s?e=%d&s=%s", l.public, id, url.PathEscape(name), exp, l.sign(id, name, exp)), nil
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (l *links) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/dl/")
	id, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !validID(id) || name == "" || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\\\x00") {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("e"), 10, 64)
	sig, err2 := hex.DecodeString(q.Get("s"))
	want, _ := hex.DecodeString(l.sign(id, name, exp))
	// A bad signature and an expired link look the same (and like a
	// missing file): nothing is revealed about which links exist.
	if err != nil || err2 != nil || !hmac.Equal(sig, want) || l.now().Unix() > exp {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(id + "/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", book.MediaType(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=0")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// Sweep removes published files older than the TTL.
func (l *links) Sweep(context.Context) error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if l.now().Sub(info.ModTime()) > l.ttl+time.Minute {
			if err := os.RemoveAll(filepath.Join(l.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
	}
	return nil
}

// sweepLinks removes expired links' files every minute until ctx ends.
func (b *Bot) sweepLinks(ctx context.Context) {
	tick.Every(ctx, time.Minute, func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := b.links.Sweep(sctx); err != nil {
			b.log.Warn("sweeping expired links failed", "err", err)
		}
	})
}
