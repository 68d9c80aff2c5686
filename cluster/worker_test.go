package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/pipeline"
)

// A worker dies mid-job (its connection cut: no ack, no nak, no more
// heartbeats) after fetching half the pages. After AckWait another worker
// runs the job from the pages the first one stored, fetching only the
// rest, and the job is delivered once.
func TestWorkerDiesMidJob(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 6, 0)
	release := s.hold(3)
	defer release()
	a := startWorker(t, url, "a", newEnv(t, 1000, 50, nil), 1)
	c := connect(t, url, "gateway")
	g := cluster.NewGateway(c)
	type result struct {
		out *pipeline.Output
		err error
	}
	res := make(chan result, 2)
	go func() {
		out, err := runJob(t, context.Background(), g, newEnv(t, 1000, 50, nil), "dies", s.chapter(1), nil)
		res <- result{out, err}
	}()
	eventually(t, "worker a to store 3 pages", func() bool {
		n, _ := c.StoredPages(context.Background(), "dies")
		return n == 3
	})
	a.kill()
	b := startWorker(t, url, "b", newEnv(t, 1000, 50, nil), 1)
	release()
	r := <-res
	if r.err != nil || len(r.out.Files) != 1 || r.out.Pages != 6 {
		t.Fatalf("RunJob: %+v, %v; want one file of 6 pages", r.out, r.err)
	}
	eventually(t, "worker b to count the job", func() bool { return b.count("done") == 1 })
	if a.count("done") != 0 {
		t.Errorf("worker a finished the job too")
	}
	rec, err := c.Job(context.Background(), "dies")
	if err != nil || rec.State != cluster.Delivered || rec.Worker != "b" || rec.Attempt != 2 {
		t.Fatalf("record %+v, %v; want delivered by b on attempt 2", rec, err)
	}
	select {
	case r := <-res:
		t.Fatalf("a second result: %+v", r)
	default:
	}
	for p := range 3 {
		if n := s.fetched(1, p); n != 1 {
			t.Errorf("page %d (stored before the death) fetched %d times", p, n)
		}
	}
	eventually(t, "stored pages and files to go", func() bool {
		n, _ := c.StoredPages(context.Background(), "dies")
		return n == 0 && objectCount(t, c) == 0
	})
}

// When every attempt's worker dies, the job fails with a message that
// says so, instead of waiting forever.
func TestGivesUpAfterMaxAttempts(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 3, 0)
	release := s.hold(0)
	defer release()
	c := connectAttempts(t, url, "gateway", 1)
	g := cluster.NewGateway(c)
	errc := make(chan error, 1)
	go func() {
		_, err := runJob(t, context.Background(), g, newEnv(t, 1000, 50, nil), "doomed", s.chapter(1), nil)
		errc <- err
	}()
	a := startWorkerOn(t, connectAttempts(t, url, "a", 1), "a", newEnv(t, 1000, 50, nil), 1)
	eventually(t, "worker a to fetch pages", func() bool { _, waiting := s.requests(); return waiting > 0 })
	a.kill()
	b := startWorkerOn(t, connectAttempts(t, url, "b", 1), "b", newEnv(t, 1000, 50, nil), 1)
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("RunJob: %v, want the give-up message", err)
	}
	eventually(t, "worker b to count the job", func() bool { return b.count("gave_up") == 1 })
	if b.count("done") != 0 {
		t.Error("worker b ran the job")
	}
}
