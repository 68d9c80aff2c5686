package bot

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/s3store"
	"github.com/mangabot/mangabot/internal/s3test"
	"github.com/mangabot/mangabot/internal/testtool"
)

// With a random link key, links of a previous run are dead: their files
// are removed at start. A configured key keeps them.
func TestRandomLinkKeyClearsOldLinks(t *testing.T) {
	for _, secret := range []string{"", "kept-secret"} {
		out := t.TempDir()
		old := filepath.Join(out, "links", strings.Repeat("a", 32))
		os.MkdirAll(old, 0o700)
		os.WriteFile(filepath.Join(old, "x.pdf"), []byte("x"), 0o600)
		addr := freeAddr(t)
		h := start(t, func(c *Config) {
			c.OutputDir = out
			c.Listen = addr
			c.PublicURL = "http://" + addr
			c.LinkSecret = secret
		})
		_, err := os.Stat(old)
		if gone := os.IsNotExist(err); gone != (secret == "") {
			t.Errorf("secret %q: old link removed: %v", secret, gone)
		}
		h.stop()
	}
}

// newTestLinks is a links dir with a settable clock and one published
// file; it returns the link's path and query.
func newTestLinks(t *testing.T, secret string) (*links, *time.Time, *url.URL) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := newLinks(filepath.Join(t.TempDir(), "links"), "https://bot.example/", secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return now }
	src := filepath.Join(t.TempDir(), "Chapter 1.pdf")
	if err := os.WriteFile(src, []byte("%PDF-1.7 body"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := l.Publish(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "https://bot.example/dl/") {
		t.Fatalf("link %q not under the public URL", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l, &now, u
}

func get(l *links, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestLinkServesSignedFile(t *testing.T) {
	l, _, u := newTestLinks(t, "secret")
	rec := get(l, http.MethodGet, u.RequestURI())
	if rec.Code != http.StatusOK || rec.Body.String() != "%PDF-1.7 body" {
		t.Fatalf("signed link: %d %q", rec.Code, rec.Body.String())
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "Chapter 1.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if rec := get(l, http.MethodHead, u.RequestURI()); rec.Code != http.StatusOK {
		t.Errorf("HEAD: %d", rec.Code)
	}
	if rec := get(l, http.MethodPost, u.RequestURI()); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestLinkRefusesTampered(t *testing.T) {
	l, _, u := newTestLinks(t, "secret")
	q := u.Query()
	id, name, _ := strings.Cut(strings.TrimPrefix(u.Path, "/dl/"), "/")
	flip := func(s string) string {
		c := "0"
		if s[len(s)-1] == '0' {
			c = "1"
		}
		return s[:len(s)-1] + c
	}
	exp, _ := strconv.ParseInt(q.Get("e"), 10, 64)
	// The other name and the other id exist: only the signature can
	// refuse them.
	os.WriteFile(filepath.Join(l.dir, id, "Chapter 2.pdf"), []byte("other"), 0o600)
	os.MkdirAll(filepath.Join(l.dir, flip(id)), 0o700)
	os.WriteFile(filepath.Join(l.dir, flip(id), name), []byte("other"), 0o600)
	for what, target := range map[string]string{
		"signature":       fmt.Sprintf("/dl/%s/%s?e=%s&s=%s", id, url.PathEscape(name), q.Get("e"), flip(q.Get("s"))),
		"later expiry":    fmt.Sprintf("/dl/%s/%s?e=%d&s=%s", id, url.PathEscape(name), exp+3600, q.Get("s")),
		"other name":      fmt.Sprintf("/dl/%s/%s?e=%s&s=%s", id, url.PathEscape("Chapter 2.pdf"), q.Get("e"), q.Get("s")),
		"other id":        fmt.Sprintf("/dl/%s/%s?e=%s&s=%s", flip(id), url.PathEscape(name), q.Get("e"), q.Get("s")),
		"no signature":    fmt.Sprintf("/dl/%s/%s?e=%s", id, url.PathEscape(name), q.Get("e")),
		"bad id":          fmt.Sprintf("/dl/%s/%s?e=%s&s=%s", "..", url.PathEscape(name), q.Get("e"), q.Get("s")),
		"traversal":       fmt.Sprintf("/dl/%s/..%%2F..%%2Fx?e=%s&s=%s", id, q.Get("e"), q.Get("s")),
		"directory":       fmt.Sprintf("/dl/%s/?e=%s&s=%s", id, q.Get("e"), q.Get("s")),
		"listing of root": "/dl/",
	} {
		if rec := get(l, http.MethodGet, target); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", what, rec.Code)
		}
	}
	// Signed by another key: refused.
	other, _, _ := newTestLinks(t, "other secret")
	other.dir = l.dir
	if rec := get(other, http.MethodGet, u.RequestURI()); rec.Code != http.StatusNotFound {
		t.Errorf("other key: %d, want 404", rec.Code)
	}
}

func TestLinkExpires(t *testing.T) {
	l, now, u := newTestLinks(t, "secret")
	*now = now.Add(time.Hour) // the last second it is valid
	if rec := get(l, http.MethodGet, u.RequestURI()); rec.Code != http.StatusOK {
		t.Fatalf("at expiry: %d", rec.Code)
	}
	*now = now.Add(time.Second)
	if rec := get(l, http.MethodGet, u.RequestURI()); rec.Code != http.StatusNotFound {
		t.Fatalf("after expiry: %d, want 404", rec.Code)
	}
}

func TestLinkSweepRemovesOldFiles(t *testing.T) {
	l, now, _ := newTestLinks(t, "secret")
	ents, _ := os.ReadDir(l.dir)
	if len(ents) != 1 {
		t.Fatalf("%d published dirs, want 1", len(ents))
	}
	*now = time.Now() // files are as old as the real clock says
	l.Sweep(context.Background())
	if ents, _ := os.ReadDir(l.dir); len(ents) != 1 {
		t.Fatal("sweep removed a fresh link")
	}
	*now = time.Now().Add(l.ttl + 2*time.Minute)
	l.Sweep(context.Background())
	if ents, _ := os.ReadDir(l.dir); len(ents) != 0 {
		t.Fatal("sweep kept an expired link")
	}
}

// With Config.Links set to S3's presigned URLs, a too-big result is
// linked into the bucket with no server of the bot's own: plain net/http
// gets the PDF from the (fake, signature-checking) S3 with its media type
// and an attachment name, the log shows no signature, and an expired
// link is refused.
func TestTooBigLinkS3(t *testing.T) {
	srv := s3test.Start(t)
	st, err := s3store.New(srv.Options("mangabot/"))
	if err != nil {
		t.Fatal(err)
	}
	var sink testtool.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var out string
	h := startWith(t, func(c *Config) {
		c.Links = s3store.NewLinks(st, time.Hour, book.MediaType)
		c.MaxParts = 1 // more parts than allowed: a link
		out = c.OutputDir
	}, startOptions{logger: logger})
	const limit = 30 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/s3link?n=3", limit)
	h.waitFor("link", h.originalHas(tok, srv.URL))
	h.waitIdle()
	m := regexp.MustCompile(`📥 \[([^\]]+)\]\((http://[^)\s]+)\)`).FindStringSubmatch(statusText(h.fd.Original(tok)))
	if m == nil {
		t.Fatalf("no link in %s", statusText(h.fd.Original(tok)))
	}
	name, link := m[1], m[2]
	resp, body := srv.GetLink(t, link, "mangabot/")
	if resp.StatusCode != 200 || len(body) <= limit {
		t.Fatalf("GET link: %s, %d bytes", resp.Status, len(body))
	}
	if n := checkPDF(t, body); n != 3 {
		t.Fatalf("linked pdf has %d pages", n)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || p["filename"] != name {
		t.Errorf("Content-Disposition %q, want an attachment named %q", resp.Header.Get("Content-Disposition"), name)
	}
	if _, err := os.Stat(filepath.Join(out, "links")); !os.IsNotExist(err) {
		t.Errorf("a local links dir was made: %v", err)
	}
	sig, _ := url.Parse(link)
	if s := sig.Query().Get("X-Amz-Signature"); len(s) < 32 || strings.Contains(sink.String(), s) {
		t.Errorf("the signature %q is missing from the link or present in the log", s)
	}
	if !strings.Contains(sink.String(), "X-Amz-Signature=[redacted]") {
		t.Error("the published link was not logged (redacted)")
	}
	srv.Advance(time.Hour + time.Second)
	if resp, err := http.Get(link); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("expired link: %v %v", resp.Status, err)
	}
}
