package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/s3store"
	"github.com/mangabot/mangabot/internal/s3test"
)

func randomFile(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func newStore(t *testing.T, srv *s3test.Server, prefix string) *s3store.Store {
	t.Helper()
	s, err := s3store.New(srv.Options(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Files go up and come back byte for byte under the prefix; sweep takes
// only the old ones, delete the rest.
func TestPutGetSweep(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, "bot1/")
	ctx := context.Background()
	// 6 MiB: above minio-go's single-request size for unknown lengths,
	// and the signed streaming upload of plain HTTP.
	path, want := randomFile(t, "Series - Ch.1.pdf", 6<<20)
	n, err := s.Put(ctx, "jobs/j1/1.1/Series - Ch.1.pdf", path, s3store.Meta{})
	if err != nil || n != int64(len(want)) {
		t.Fatalf("put: %d, %v", n, err)
	}
	dst := filepath.Join(t.TempDir(), "got.pdf")
	if err := s.Get(ctx, "jobs/j1/1.1/Series - Ch.1.pdf", dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
		t.Fatal("the file came back different")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), "*.part")); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
	if err := s.Get(ctx, "jobs/missing", filepath.Join(filepath.Dir(dst), "missing")); err == nil {
		t.Error("a missing key downloaded")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "missing")); !os.IsNotExist(err) {
		t.Error("a failed download left a file")
	}
	small, _ := randomFile(t, "x.cbz", 10)
	s.Put(ctx, "links/a/x.cbz", small, s3store.Meta{})
	if keys := srv.Keys(t); !slices.Equal(keys, []string{"bot1/jobs/j1/1.1/Series - Ch.1.pdf", "bot1/links/a/x.cbz"}) {
		t.Fatalf("bucket holds %q", keys)
	}
	// Nothing is older than an hour ago; everything is older than an hour on.
	if n, err := s.Sweep(ctx, "jobs/", time.Now().Add(-time.Hour)); n != 0 || err != nil {
		t.Fatalf("sweep of fresh objects: %d, %v", n, err)
	}
	if n, err := s.Sweep(ctx, "jobs/", time.Now().Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if keys := srv.Keys(t); !slices.Equal(keys, []string{"bot1/links/a/x.cbz"}) {
		t.Fatalf("after the sweep the bucket holds %q (links/ is not under jobs/)", keys)
	}
	if err := s.Delete(ctx, "links/a/x.cbz"); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t); len(keys) != 0 {
		t.Fatalf("after delete: %q", keys)
	}
	if srv.Refused() != 0 {
		t.Errorf("%d requests failed the signature check", srv.Refused())
	}
}

// Wrong keys and a missing bucket are errors at Check, not at the first job.
func TestCheck(t *testing.T) {
	srv := s3test.Start(t)
	o := srv.Options("")
	o.SecretKey = "wrong"
	s, err := s3store.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Error("a wrong secret key passed the check")
	}
	o = srv.Options("")
	o.Bucket = "nope"
	s, _ = s3store.New(o)
	if err := s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing bucket: %v", err)
	}
	for _, ep := range []string{"ftp://x", "http://", "http://h/path", "h:9000"} {
		o = srv.Options("")
		o.Endpoint = ep
		if _, err := s3store.New(o); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
}

// A link is a presigned URL that plain net/http fetches: the bytes, the
// media type and an attachment named for the file. Forged, altered and
// expired URLs are refused; the sweep removes links past their TTL.
func TestLinks(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, "mangabot/")
	l := s3store.NewLinks(s, 2*time.Hour, func(name string) string {
		if strings.HasSuffix(name, ".pdf") {
			return "application/pdf"
		}
		return "application/octet-stream"
	})
	path, want := randomFile(t, "Tōkyō Series - Ch.1.pdf", 300<<10)
	raw, err := l.Publish(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	if u.Query().Get("X-Amz-Expires") != "7200" {
		t.Fatalf("link %s: want a presigned URL expiring in 7200 s", raw)
	}
	resp, body := srv.GetLink(t, raw, "mangabot/")
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET: %s, %d bytes", resp.Status, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename*=utf-8''T%C5%8Dky%C5%8D%20Series%20-%20Ch.1.pdf` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error("Publish took the local file away")
	}
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	q := u.Query()
	sig := q.Get("X-Amz-Signature")
	q.Set("X-Amz-Signature", strings.Repeat("0", len(sig)))
	forged := *u
	forged.RawQuery = q.Encode()
	if code := get(forged.String()); code != http.StatusForbidden {
		t.Errorf("forged signature: %d, want 403", code)
	}
	q.Set("X-Amz-Signature", sig)
	q.Set("X-Amz-Expires", "604800") // a longer life, same signature
	forged.RawQuery = q.Encode()
	if code := get(forged.String()); code != http.StatusForbidden {
		t.Errorf("extended expiry: %d, want 403", code)
	}
	other := *u
	other.Path = strings.Replace(u.Path, "Ch.1", "Ch.2", 1)
	if code := get(other.String()); code != http.StatusForbidden {
		t.Errorf("another file with this signature: %d, want 403", code)
	}
	if code := get(raw); code != 200 {
		t.Fatalf("the real link after the forgeries: %d", code)
	}
	srv.Advance(2*time.Hour + time.Second)
	if code := get(raw); code != http.StatusForbidden {
		t.Errorf("expired link: %d, want 403", code)
	}
	// The sweep keeps links within TTL + a minute and removes older ones.
	if err := l.Sweep(context.Background()); err != nil || len(srv.Keys(t)) != 1 {
		t.Fatalf("sweep of a fresh link: %v, keys %q", err, srv.Keys(t))
	}
	s3store.SetClock(l, func() time.Time { return time.Now().Add(2*time.Hour + 2*time.Minute) })
	if err := l.Sweep(context.Background()); err != nil || len(srv.Keys(t)) != 0 {
		t.Fatalf("sweep of an expired link: %v, keys %q", err, srv.Keys(t))
	}
}

// A TTL past SigV4's 7 days is clamped.
func TestLinkTTLClamped(t *testing.T) {
	srv := s3test.Start(t)
	l := s3store.NewLinks(newStore(t, srv, ""), 30*24*time.Hour, func(string) string { return "" })
	if l.TTL() != s3store.MaxPresign {
		t.Fatalf("TTL %v", l.TTL())
	}
	path, _ := randomFile(t, "a.pdf", 10)
	raw, err := l.Publish(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(raw); u.Query().Get("X-Amz-Expires") != "604800" {
		t.Errorf("link %s: want 7 days", raw)
	}
}
