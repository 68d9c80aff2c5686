package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/pipeline"
)

// ErrDelivered: the job's files were already taken by a gateway (this
// one before a restart, or another), so they are not delivered again.
var ErrDelivered = errors.New("this job's result was already delivered")

// Gateway runs jobs on the cluster's workers; it is the bot's Runner
// (bot.Config.Runner) in the gateway role.
type Gateway struct {
	c *Conn

	// One watch of the job bucket serves every job of this gateway: it
	// wakes the job whose record changed, which then reads the record.
	mu       sync.Mutex
	watching bool
	waiters  map[string]chan struct{}
	observe  func(event string) // see Observe
}

// NewGateway returns the Runner of the gateway role. It takes its share
// of the max-deliveries advisories (advisory.go) from now on, and sweeps
// expired results from S3 when they go there.
func NewGateway(c *Conn) *Gateway {
	g := &Gateway{c: c, waiters: map[string]chan struct{}{}}
	g.watchGiveUps()
	g.sweepS3()
	return g
}

// Healthy reports the NATS connection (the bot's /healthz asks).
func (g *Gateway) Healthy() bool { return g.c.Healthy() }

// pollEvery reads a waiting job's record even without news: a safety net
// should a change notice be lost across a reconnect.
const pollEvery = 5 * time.Second

// RunJob publishes the job (or, when it resumes, finds it), passes its
// progress to opts.Progress, and when a worker has finished it takes the
// files from the object store into opts.Dir. Cancelling ctx cancels the
// job on its worker.
func (g *Gateway) RunJob(ctx context.Context, id string, plan *pipeline.Plan, maxFile int64, opts pipeline.RunOptions) (*pipeline.Output, error) {
	c := g.c
	// Follow before publishing, so no change is missed.
	changed, unfollow, err := g.follow(id)
	if err != nil {
		return nil, err
	}
	defer unfollow()
	if opts.Progress != nil {
		sub, err := c.nc.Subscribe(c.progressSubject(id), func(m *nats.Msg) {
			var p pipeline.Progress
			if json.Unmarshal(m.Data, &p) == nil {
				opts.Progress(p)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("subscribe to progress: %w", err)
		}
		defer sub.Unsubscribe()
	}
	if err := g.publish(ctx, id, plan, maxFile); err != nil {
		// Cancelled while publishing: the message may have landed, so the
		// record says cancelled for a worker to skip it.
		if ctx.Err() != nil {
			g.ended(ctx, id)
		}
		return nil, err
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for {
		r, rev, err := c.get(ctx, id)
		if err == nil && r != nil {
			switch r.State {
			case Done, Delivering:
				out, err := g.take(ctx, r, rev, opts.Dir)
				if !errors.Is(err, errConflict) {
					if err == nil {
						g.event("delivered")
					}
					return out, err
				}
				continue // changed meanwhile: read it again
			case Failed:
				g.event("failed")
				return nil, errors.New(r.Error)
			case Cancelled:
				g.event("cancelled")
				return nil, errors.New("cancelled")
			case Delivered:
				return nil, ErrDelivered
			}
		}
		select {
		case <-ctx.Done():
			g.ended(ctx, id)
			return nil, context.Cause(ctx)
		case <-changed:
		case <-poll.C:
		}
	}
}

// follow registers job id for change notices; the watch of the bucket
// starts with the first job.
func (g *Gateway) follow(id string) (<-chan struct{}, func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.watching {
		w, err := g.c.state.WatchAll(context.Background(), jetstream.UpdatesOnly())
		if err != nil {
			return nil, nil, fmt.Errorf("watch jobs: %w", err)
		}
		g.watching = true
		go g.dispatch(w)
	}
	ch := make(chan struct{}, 1)
	g.waiters[id] = ch
	return ch, func() {
		g.mu.Lock()
		delete(g.waiters, id)
		g.mu.Unlock()
	}, nil
}

// dispatch wakes the job of each changed record (a pending wake-up
// stands for any number of changes: the job reads the latest record).
func (g *Gateway) dispatch(w jetstream.KeyWatcher) {
	for e := range w.Updates() {
		if e == nil {
			continue
		}
		g.mu.Lock()
		ch := g.waiters[e.Key()]
		g.mu.Unlock()
		if ch != nil {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// publish creates the job's record and message; a job that has a record
// already (a resume after the gateway restarted) is not queued again
// unless it never left the queue.
func (g *Gateway) publish(ctx context.Context, id string, plan *pipeline.Plan, maxFile int64) error {
	c := g.c
	r := &Record{ID: id, State: Queued}
	if _, err := c.put(ctx, r, 0); errors.Is(err, errConflict) {
		old, _, err := c.get(ctx, id)
		if err != nil {
			return err
		}
		if old == nil || old.State != Queued {
			return nil // running or finished: the watch tells
		}
	} else if err != nil {
		return err
	}
	b, err := json.Marshal(jobMsg{ID: id, Request: plan.Request, MaxFile: maxFile})
	if err != nil {
		return err
	}
	host := "_"
	if u, err := url.Parse(plan.Request.URL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	// The job id is the message id: a second publish within the stream's
	// duplicate window is dropped.
	if _, err := c.js.Publish(ctx, c.jobSubject(host), b, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("queue job: %w", err)
	}
	g.event("published")
	return nil
}

// ended handles the end of RunJob's context: a member's cancel reaches
// the job (its worker, its record); a gateway that stops leaves the job
// queued or running, for its restart to take up (a queued one it
// publishes again).
func (g *Gateway) ended(ctx context.Context, id string) {
	if errors.Is(context.Cause(ctx), pipeline.ErrStopping) {
		return
	}
	g.cancel(id)
	g.event("cancelled")
}

// cancel tells the worker running the job (core NATS: it gets it at
// once) and marks the record, so a worker that takes it later skips it;
// files of a run that finished just before are dropped.
func (g *Gateway) cancel(id string) {
	_ = g.c.nc.Publish(g.c.cancelSubject(id), nil)
	g.c.end(id, Cancelled, func(r *Record) bool { return !r.final() || r.State == Done })
}

// take moves the record from done to delivering (revision-checked: one
// gateway wins) and copies the files out of the object store. A job
// already delivering (this gateway died before the bot stored the
// outcome) is taken again.
func (g *Gateway) take(ctx context.Context, r *Record, rev uint64, dir string) (*pipeline.Output, error) {
	c := g.c
	if r.State == Done {
		r.State = Delivering
		if _, err := c.put(ctx, r, rev); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := &pipeline.Output{Pages: r.Pages, Bytes: r.Bytes, Failed: r.Failed}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, errors.New(e))
	}
	for _, f := range r.Files {
		path := filepath.Join(dir, filepath.Base(f.Name))
		if err := c.fetchFile(ctx, f, path); err != nil {
			return nil, fmt.Errorf("fetch result %s: %w", f.Name, err)
		}
		out.Files = append(out.Files, path)
	}
	return out, nil
}

// HandedOver marks a delivering job delivered and drops its files: the
// bot has its outcome in its own store (bot.Runner's optional hook).
func (g *Gateway) HandedOver(id string) {
	g.c.end(id, Delivered, func(r *Record) bool { return r.State == Delivering })
}

// end moves a job's record to the final state `to` when from allows its
// current one, and drops the files the record held.
func (c *Conn) end(id, to string, from func(r *Record) bool) {
	ctx, stop := context.WithTimeout(context.Background(), c.o.AckWait)
	defer stop()
	var files []File
	_, ok, err := c.transition(ctx, id, func(r *Record) bool {
		if !from(r) {
			return false
		}
		files, r.Files = r.Files, nil
		r.State = to
		return true
	})
	if err != nil && !errors.Is(err, errNoRecord) { // none: nothing to mark
		c.o.Logger.Warn("mark job "+to, "job", id, "err", err)
	}
	if ok {
		c.removeFiles(files)
	}
}

// removeFiles deletes files from the object store or S3 (what is left,
// on error, the bucket's TTL or the gateway's sweep removes).
func (c *Conn) removeFiles(files []File) {
	ctx, stop := context.WithTimeout(context.Background(), c.o.AckWait)
	defer stop()
	for _, f := range files {
		c.deleteFile(ctx, f)
	}
}
