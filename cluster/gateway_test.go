package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/pipeline"
)

// runJob runs one request through the gateway into a fresh dir and, as
// the bot does once its store has the outcome, hands it over.
func runJob(t testing.TB, ctx context.Context, g *cluster.Gateway, env *pipeline.Env, id, url string, progress func(pipeline.Progress)) (*pipeline.Output, error) {
	out, err := takeJob(t, ctx, g, env, id, url, progress)
	if err == nil {
		g.HandedOver(id)
	}
	return out, err
}

// takeJob runs one request through the gateway and leaves it delivering.
func takeJob(t testing.TB, ctx context.Context, g *cluster.Gateway, env *pipeline.Env, id, url string, progress func(pipeline.Progress)) (*pipeline.Output, error) {
	plan, err := env.Resolve(ctx, pipeline.Request{URL: url})
	if err != nil {
		return nil, err
	}
	return g.RunJob(ctx, id, plan, 0, pipeline.RunOptions{Dir: t.TempDir(), Progress: progress})
}

// One gateway and three workers run 30 jobs: every one comes back once,
// with its PDF, and the workers shared them.
func TestThirtyJobsThreeWorkers(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 4, 5*time.Millisecond)
	var ws []*worker
	for i := range 3 {
		ws = append(ws, startWorker(t, url, fmt.Sprintf("w%d", i), newEnv(t, 1000, 50, nil), 2))
	}
	g := cluster.NewGateway(connect(t, url, "gateway"))
	genv := newEnv(t, 1000, 50, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	var progressed int
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("job%02d", i)
			var saw bool
			out, err := runJob(t, context.Background(), g, genv, id, s.chapter(i), func(pipeline.Progress) { saw = true })
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return
			}
			if len(out.Files) != 1 || out.Pages != 4 {
				t.Errorf("%s: files %v pages %d, want 1 file of 4 pages", id, out.Files, out.Pages)
				return
			}
			b, err := os.ReadFile(out.Files[0])
			if err != nil || len(b) < 1000 || string(b[:5]) != "%PDF-" {
				t.Errorf("%s: not a PDF (%d bytes, %v)", id, len(b), err)
			}
			mu.Lock()
			results[id]++
			if saw {
				progressed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(results) != 30 {
		t.Fatalf("%d jobs came back, want 30", len(results))
	}
	eventually(t, "the workers to count 30 jobs", func() bool {
		n := 0
		for _, w := range ws {
			n += w.count("done")
		}
		return n >= 30
	})
	done := 0
	for i, w := range ws {
		n := w.count("done")
		if n == 0 {
			t.Errorf("worker %d ran no job", i)
		}
		done += n
	}
	if done != 30 {
		t.Errorf("workers finished %d jobs, want exactly 30", done)
	}
	if progressed == 0 {
		t.Error("no job reported progress to the gateway")
	}
	// Delivered files leave the object store.
	c := connect(t, url, "inspect")
	eventually(t, "the object store to empty", func() bool { return objectCount(t, c) == 0 })
}

func objectCount(t testing.TB, c *cluster.Conn) int {
	t.Helper()
	n, err := c.ObjectCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A cancel from the gateway ends the job on its worker within a second,
// and the job is not delivered.
func TestCancelReachesWorker(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 6, 0)
	release := s.hold(0)
	defer release()
	env := newEnv(t, 1000, 50, nil)
	w := startWorker(t, url, "w", env, 1)
	c := connect(t, url, "gateway")
	g := cluster.NewGateway(c)
	ctx, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := runJob(t, ctx, g, newEnv(t, 1000, 50, nil), "cancelme", s.chapter(1), nil)
		errc <- err
	}()
	eventually(t, "the worker to fetch pages", func() bool { _, waiting := s.requests(); return waiting > 0 })
	cancelled := time.Now()
	cancel(errors.New("cancelled by the user"))
	// The worker's requests end when its job context does.
	for {
		if _, waiting := s.requests(); waiting == 0 {
			break
		}
		if time.Since(cancelled) > time.Second {
			t.Fatal("the worker still fetches 1s after the cancel")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("cancel reached the worker in %v", time.Since(cancelled))
	if err := <-errc; err == nil || err.Error() != "cancelled by the user" {
		t.Fatalf("RunJob: %v, want the cancel cause", err)
	}
	eventually(t, "the worker to record the cancel", func() bool { return w.count("cancelled") == 1 })
	if r, err := c.Job(context.Background(), "cancelme"); err != nil || r.State != cluster.Cancelled {
		t.Fatalf("record %+v, %v; want cancelled", r, err)
	}
}

// A job cancelled while queued is skipped by the worker that takes it;
// a RunJob cancelled at once (even while it publishes) leaves the record
// cancelled, never queued.
func TestCancelWhileQueued(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 2, 0)
	c := connect(t, url, "gateway")
	g := cluster.NewGateway(c)
	env := newEnv(t, 1000, 50, nil)
	plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.chapter(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Queue(context.Background(), "queued", plan); err != nil {
		t.Fatal(err)
	}
	g.Cancel("queued")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.RunJob(ctx, "early", plan, 0, pipeline.RunOptions{Dir: t.TempDir()}); err == nil {
		t.Fatal("RunJob with a cancelled context succeeded")
	}
	for _, id := range []string{"queued", "early"} {
		if r, err := c.Job(context.Background(), id); err != nil || (r != nil && r.State != cluster.Cancelled) {
			t.Errorf("%s: record %+v, %v; want cancelled (or none)", id, r, err)
		}
	}
	w := startWorker(t, url, "late", newEnv(t, 1000, 50, nil), 1)
	eventually(t, "the worker to skip the job", func() bool { return w.count("duplicate") >= 1 })
	time.Sleep(200 * time.Millisecond) // a run would start now
	if n, _ := s.requests(); n != 0 {
		t.Errorf("%d image requests for a cancelled job", n)
	}
	if w.count("done") != 0 {
		t.Error("a cancelled job was run")
	}
}

// A gateway that took a job's files but died before the bot stored the
// outcome gets them again when the job resumes; once handed over, the job
// is never delivered again, and its files leave the object store.
func TestDeliveredOnce(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 2, 0)
	startWorker(t, url, "w", newEnv(t, 1000, 50, nil), 1)
	c := connect(t, url, "gateway")
	g := cluster.NewGateway(c)
	env := newEnv(t, 1000, 50, nil)
	out, err := takeJob(t, context.Background(), g, env, "once", s.chapter(1), nil)
	if err != nil || len(out.Files) != 1 {
		t.Fatalf("first run: %v %v", out, err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out.Files[0]), "*.part")); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
	if r, _ := c.Job(context.Background(), "once"); r == nil || r.State != cluster.Delivering {
		t.Fatalf("record %+v, want delivering", r)
	}
	// The gateway "restarted" before storing the outcome: the same files.
	again, err := takeJob(t, context.Background(), g, env, "once", s.chapter(1), nil)
	if err != nil || len(again.Files) != 1 {
		t.Fatalf("resumed run: %v %v", again, err)
	}
	a, _ := os.ReadFile(out.Files[0])
	b, _ := os.ReadFile(again.Files[0])
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the resumed run got other files")
	}
	if n, _ := s.requests(); n != 2 {
		t.Errorf("%d image requests, want 2 (the job ran once)", n)
	}
	g.HandedOver("once")
	if n := objectCount(t, c); n != 0 {
		t.Errorf("%d objects left after the handover", n)
	}
	_, err = takeJob(t, context.Background(), g, env, "once", s.chapter(1), nil)
	if !errors.Is(err, cluster.ErrDelivered) {
		t.Fatalf("run after the handover: %v, want ErrDelivered", err)
	}
}

// A gateway that stops (its bot shutting down: cause pipeline.ErrStopping)
// leaves the job running on its worker, unlike a member's cancel; the
// gateway that resumes the job gets its file, fetched once.
func TestStoppingGatewayLeavesJobRunning(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 3, 0)
	release := s.hold(0)
	w := startWorker(t, url, "w", newEnv(t, 1000, 50, nil), 1)
	g := cluster.NewGateway(connect(t, url, "gateway"))
	ctx, stop := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := runJob(t, ctx, g, newEnv(t, 1000, 50, nil), "stopping", s.chapter(1), nil)
		errc <- err
	}()
	eventually(t, "the worker to fetch pages", func() bool { _, waiting := s.requests(); return waiting > 0 })
	stop(pipeline.ErrStopping)
	if err := <-errc; !errors.Is(err, pipeline.ErrStopping) {
		t.Fatalf("RunJob: %v", err)
	}
	release()
	c2 := connect(t, url, "gateway-2")
	eventually(t, "the job to finish on its worker", func() bool {
		r, err := c2.Job(context.Background(), "stopping")
		return err == nil && r != nil && r.State == cluster.Done
	})
	out, err := runJob(t, context.Background(), cluster.NewGateway(c2), newEnv(t, 1000, 50, nil), "stopping", s.chapter(1), nil)
	if err != nil || len(out.Files) != 1 || out.Pages != 3 {
		t.Fatalf("resumed: %+v, %v", out, err)
	}
	if w.count("cancelled") != 0 || w.count("done") != 1 {
		t.Errorf("worker outcomes: cancelled %d, done %d", w.count("cancelled"), w.count("done"))
	}
	if n, _ := s.requests(); n != 3 {
		t.Errorf("%d image requests, want 3 (each page once)", n)
	}
}
