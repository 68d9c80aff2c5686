package cluster_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/internal/s3store"
	"github.com/mangabot/mangabot/internal/s3test"
	"github.com/mangabot/mangabot/pipeline"
)

// connectS3 joins the cluster with finished files in the fake S3.
func connectS3(t testing.TB, url, name string, srv *s3test.Server, ttl time.Duration) *cluster.Conn {
	t.Helper()
	c, err := cluster.Connect(context.Background(), cluster.Options{URL: url, Name: name,
		AckWait: 1500 * time.Millisecond, MaxAttempts: 3, ResultTTL: ttl, Logger: quiet(), S3: srv.Options("mangabot/")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// A job's file goes worker → S3 → gateway (the object store stays empty)
// and arrives byte for byte; once handed over it leaves the bucket.
func TestResultThroughS3(t *testing.T) {
	url := startNATS(t)
	srv := s3test.Start(t)
	s := newSite(t, 3, 0)
	w := startWorkerOn(t, connectS3(t, url, "w", srv, time.Hour), "w", newEnv(t, 1000, 50, nil), 1)
	c := connectS3(t, url, "gateway", srv, time.Hour)
	g := cluster.NewGateway(c)
	out, err := takeJob(t, context.Background(), g, newEnv(t, 1000, 50, nil), "s3job", s.chapter(1), nil)
	if err != nil || len(out.Files) != 1 || out.Pages != 3 {
		t.Fatalf("RunJob: %+v, %v", out, err)
	}
	r, err := c.Job(context.Background(), "s3job")
	if err != nil || r.State != cluster.Delivering || len(r.Files) != 1 {
		t.Fatalf("record %+v, %v", r, err)
	}
	f := r.Files[0]
	name := filepath.Base(out.Files[0])
	if f.Object != "" || f.S3Key != "jobs/s3job/1.1/"+name {
		t.Fatalf("file recorded as %+v, want S3 key jobs/s3job/1.1/%s", f, name)
	}
	if n := objectCount(t, c); n != 0 {
		t.Errorf("%d files in the object store, want none (S3 holds them)", n)
	}
	if keys := srv.Keys(t); !slices.Equal(keys, []string{"mangabot/" + f.S3Key}) {
		t.Fatalf("bucket holds %q", keys)
	}
	// What was delivered is what the worker stored.
	st, err := s3store.New(srv.Options("mangabot/"))
	if err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(t.TempDir(), "stored")
	if err := st.Get(context.Background(), f.S3Key, stored); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out.Files[0])
	b, _ := os.ReadFile(stored)
	if len(a) < 1000 || string(a[:5]) != "%PDF-" || !bytes.Equal(a, b) || int64(len(a)) != f.Size {
		t.Fatalf("delivered %d bytes, stored %d, recorded %d: want the same PDF", len(a), len(b), f.Size)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out.Files[0]), "*part*")); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
	g.HandedOver("s3job")
	if keys := srv.Keys(t); len(keys) != 0 {
		t.Errorf("after the handover the bucket holds %q", keys)
	}
	if w.count("done") != 1 || srv.Refused() != 0 {
		t.Errorf("done %d, refused requests %d", w.count("done"), srv.Refused())
	}
}

// A finished job cancelled before a gateway took it drops its file from
// the bucket.
func TestS3ResultDroppedOnCancel(t *testing.T) {
	url := startNATS(t)
	srv := s3test.Start(t)
	s := newSite(t, 2, 0)
	startWorkerOn(t, connectS3(t, url, "w", srv, time.Hour), "w", newEnv(t, 1000, 50, nil), 1)
	c := connectS3(t, url, "gateway", srv, time.Hour)
	g := cluster.NewGateway(c)
	env := newEnv(t, 1000, 50, nil)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.chapter(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Queue(context.Background(), "late", plan); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job to be done", func() bool {
		r, _ := c.Job(context.Background(), "late")
		return r != nil && r.State == cluster.Done
	})
	if keys := srv.Keys(t); len(keys) != 1 || !strings.HasPrefix(keys[0], "mangabot/jobs/late/1.1/") {
		t.Fatalf("bucket holds %q, want the job's file", keys)
	}
	g.Cancel("late")
	if r, _ := c.Job(context.Background(), "late"); r == nil || r.State != cluster.Cancelled || len(r.Files) != 0 {
		t.Fatalf("record %+v, want cancelled without files", r)
	}
	if keys := srv.Keys(t); len(keys) != 0 {
		t.Errorf("after the cancel the bucket holds %q", keys)
	}
}

// Results nobody took leave the bucket after result_ttl; links and other
// keys are not the sweep's.
func TestS3Sweep(t *testing.T) {
	url := startNATS(t)
	srv := s3test.Start(t)
	const ttl = 2 * time.Second
	c := connectS3(t, url, "gateway", srv, ttl)
	st, err := s3store.New(srv.Options(""))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.pdf")
	os.WriteFile(p, []byte("%PDF-1.7 stray"), 0o644)
	for _, k := range []string{"mangabot/jobs/gone/1.1/a.pdf", "mangabot/links/0123/a.pdf", "other/jobs/x/a.pdf"} {
		if _, err := st.Put(context.Background(), k, p, s3store.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.SweepFiles(context.Background()); n != 0 || err != nil {
		t.Fatalf("sweep of fresh results: %d, %v", n, err)
	}
	eventually(t, "the sweep to take the old result", func() bool {
		n, err := c.SweepFiles(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	if keys := srv.Keys(t); !slices.Equal(keys, []string{"mangabot/links/0123/a.pdf", "other/jobs/x/a.pdf"}) {
		t.Errorf("after the sweep the bucket holds %q", keys)
	}
}
