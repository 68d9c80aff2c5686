package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/internal/tick"
	"github.com/mangabot/mangabot/pipeline"
)

// WorkerOptions configure a Worker; zero values take defaults.
type WorkerOptions struct {
	Name string // shown in job records; default the host name
	Jobs int    // jobs run at once; default 2
	Dir  string // where pages and files are made; default a temp dir
	// ProgressEvery is the least time between two progress messages of a
	// job (the gateway coalesces them into Discord edits); default 250ms.
	ProgressEvery time.Duration
	Logger        *slog.Logger
	// Outcome, when set, is told how each job the worker took ended:
	// "done", "failed", "cancelled", "duplicate", "gave_up", "requeued".
	Outcome func(outcome string)
}

// Worker pulls jobs from the stream and runs them on its pipeline.
type Worker struct {
	c   *Conn
	env *pipeline.Env
	o   WorkerOptions
	log *slog.Logger
}

// errCancelled is the cause of a job cancelled through its cancel subject.
var errCancelled = errors.New("cancelled")

// NewWorker builds a worker on a connection and a pipeline.
func NewWorker(c *Conn, env *pipeline.Env, o WorkerOptions) *Worker {
	if o.Name == "" {
		o.Name, _ = os.Hostname()
	}
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = c.o.Logger
	}
	return &Worker{c: c, env: env, o: o, log: o.Logger.With("worker", o.Name)}
}

// Run takes jobs until ctx ends. Jobs still running then are handed back
// (Nak) so another worker takes them at once.
func (w *Worker) Run(ctx context.Context) error {
	dir := w.o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "mangabot-worker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make worker dir: %w", err)
	}
	slots := make(chan struct{}, w.o.Jobs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msg, err := w.c.cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				w.log.Warn("fetch job", "err", err)
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
				}
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			w.handle(ctx, msg, dir)
		}()
	}
}

func (w *Worker) outcome(s string) {
	if w.o.Outcome != nil {
		w.o.Outcome(s)
	}
}

// handle runs one delivery of a job.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg, dir string) {
	c := w.c
	var jm jobMsg
	if err := json.Unmarshal(msg.Data(), &jm); err != nil || jm.ID == "" {
		w.log.Warn("dropping a malformed job message", "err", err)
		_ = msg.Term()
		return
	}
	log := w.log.With("job", jm.ID)
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.Nak()
		return
	}
	attempt := int(md.NumDelivered)
	// Take the job: queued (or running on a worker that died) becomes
	// running here; anything final is acked and skipped.
	var skip, gaveUp bool
	_, _, err = c.transition(ctx, jm.ID, func(r *Record) bool {
		if r.final() {
			skip = true
			return false
		}
		if attempt > c.o.MaxAttempts {
			gaveUp = true
			r.State = Failed
			r.Error = gaveUpError(c.o.MaxAttempts)
			return true
		}
		r.State, r.Worker, r.Attempt = Running, w.o.Name, attempt
		return true
	})
	switch {
	case err != nil:
		log.Warn("take job", "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	case skip:
		_ = msg.Ack()
		w.outcome("duplicate")
		return
	case gaveUp:
		log.Warn("job gave up", "attempts", c.o.MaxAttempts)
		c.dropPages(jm.ID)
		_ = msg.Term()
		w.outcome("gave_up")
		return
	}
	log.Info("job started", "attempt", attempt)

	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sub, err := c.nc.Subscribe(c.cancelSubject(jm.ID), func(*nats.Msg) { cancel(errCancelled) })
	if err != nil {
		_ = msg.Nak()
		return
	}
	defer sub.Unsubscribe()
	// A cancel published before the subscription was made is in the record.
	if r, _, err := c.get(ctx, jm.ID); err == nil && r != nil && r.State == Cancelled {
		cancel(errCancelled)
	}
	// Heartbeats: the job stays this worker's while it lives.
	go tick.Every(jctx, c.o.AckWait/3, func() { _ = msg.InProgress() })

	jobDir := filepath.Join(dir, jm.ID)
	defer os.RemoveAll(jobDir)
	out, err := w.run(jctx, jm, jobDir)
	if ctx.Err() == nil {
		// The job ends here (done, failed or cancelled): its stored pages
		// are of no more use. A worker stopping keeps them for the next.
		defer c.dropPages(jm.ID)
	}
	switch {
	case errors.Is(context.Cause(jctx), errCancelled):
		_ = msg.Ack()
		log.Info("job cancelled")
		w.outcome("cancelled")
		return
	case ctx.Err() != nil:
		// This worker stops: another one takes the job now.
		_ = msg.Nak()
		w.outcome("requeued")
		return
	}
	if err == nil {
		err = w.finish(ctx, jm.ID, attempt, out, log)
		if errors.Is(err, errDuplicate) {
			_ = msg.Ack()
			w.outcome("duplicate")
			return
		}
		if err != nil {
			// NATS trouble: let the job be tried again.
			log.Warn("store result", "err", err)
			_ = msg.NakWithDelay(time.Second)
			w.outcome("requeued")
			return
		}
		_ = msg.DoubleAck(ctx)
		log.Info("job done", "files", len(out.Files), "pages", out.Pages)
		w.outcome("done")
		return
	}
	log.Info("job failed", "err", err)
	if _, _, terr := c.transition(ctx, jm.ID, func(r *Record) bool {
		if r.final() {
			return false
		}
		r.State, r.Error = Failed, err.Error()
		return true
	}); terr != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	}
	_ = msg.DoubleAck(ctx)
	w.outcome("failed")
}

// run resolves the request again and runs the pipeline, sending progress.
func (w *Worker) run(ctx context.Context, jm jobMsg, dir string) (*pipeline.Output, error) {
	plan, err := w.env.Resolve(ctx, jm.Request)
	if err != nil {
		return nil, err
	}
	env := *w.env
	env.PDF.MaxFileBytes = jm.MaxFile
	subj := w.c.progressSubject(jm.ID)
	var last time.Time
	var stage string
	progress := func(p pipeline.Progress) {
		// Every stage change goes out; within a stage, one message per
		// ProgressEvery (and the last page).
		if p.Stage == stage && time.Since(last) < w.o.ProgressEvery && p.PagesDone+p.PagesFailed < p.PagesTotal {
			return
		}
		stage, last = p.Stage, time.Now()
		if b, err := json.Marshal(p); err == nil {
			_ = w.c.nc.Publish(subj, b)
		}
	}
	// Pages an earlier attempt stored are not fetched again.
	work := filepath.Join(dir, "pages")
	ps, restored, err := w.c.restorePages(ctx, jm.ID, work)
	if err != nil {
		w.log.Warn("restore stored pages", "job", jm.ID, "err", err)
	}
	if restored > 0 {
		w.log.Info("resuming from stored pages", "job", jm.ID, "pages", restored)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go tick.Every(sctx, pageSyncEvery, func() { ps.store(sctx) })
	return env.Run(ctx, plan, pipeline.RunOptions{Dir: filepath.Join(dir, "out"), WorkDir: work, Progress: progress})
}

// errDuplicate: the job was finished (or cancelled) by someone else while
// this worker ran it; its files are dropped.
var errDuplicate = errors.New("job already finished elsewhere")

// finish puts the files in the object store (or S3) and marks the job
// done.
func (w *Worker) finish(ctx context.Context, id string, attempt int, out *pipeline.Output, log *slog.Logger) error {
	c := w.c
	files := make([]File, 0, len(out.Files))
	for i, path := range out.Files {
		f, err := c.storeFile(ctx, id, attempt, i+1, path)
		if err != nil {
			c.removeFiles(files)
			return fmt.Errorf("store file: %w", err)
		}
		files = append(files, f)
	}
	_, ok, err := c.transition(ctx, id, func(r *Record) bool {
		if r.final() {
			return false
		}
		r.State, r.Worker = Done, w.o.Name
		r.Files, r.Pages, r.Bytes, r.Failed = files, out.Pages, out.Bytes, out.Failed
		r.Errors = nil
		for _, e := range out.Errors {
			r.Errors = append(r.Errors, e.Error())
		}
		return true
	})
	if err != nil || !ok {
		c.removeFiles(files)
		if err == nil {
			log.Info("job finished elsewhere meanwhile; dropping this result")
			return errDuplicate
		}
	}
	return err
}
