package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

type jobState int

const (
	stateQueued jobState = iota
	stateRunning
	stateDone
	stateFailed
	stateCancelled
)

// job is one download, possibly watched by several requesters who asked
// for the same thing.
type job struct {
	b       *Bot
	id, key string
	plan    *pipeline.Plan
	guildID string
	channel string
	limit   int64 // attachment limit of the first requester
	created time.Time
	ctx     context.Context
	cancel  context.CancelCauseFunc
	log     *slog.Logger

	// Durable jobs (with a store): pages go to workDir (kept across
	// restarts), PDFs to outDir; both are named after the job so
	// store.CleanOrphans finds them.
	workDir, outDir string
	// pages is where the pipeline keeps the pages (workDir for durable
	// jobs): they stay until delivery ends, so smaller parts can be built
	// again without fetching anything.
	pages      string
	maxFile    int64        // part size of the result (0: one file)
	ckey       cache.Key    // the result's cache key
	lease      *cache.Lease // a cached result being delivered (a cache hit)
	kept       *cache.Lease // this job's result, put in the cache
	fromCache  bool         // answered from the cache (j.lease)
	resumed    bool
	files      []string   // made files, once delivering
	fitted     string     // how the result was fitted, for the status (under mu)
	delivering *store.Job // resumed in the delivering state

	// charged is what the daily quota was charged for this job (refunded,
	// less the pages fetched, when it does not complete).
	charged               int
	chargeUser, chargeDay string

	saveMu   sync.Mutex // orders store writes of this job
	lastSave time.Time  // of progress saves; under mu

	mu       sync.Mutex
	state    jobState
	prog     pipeline.Progress
	started  time.Time
	note     string // shown on the status (shutdown notice)
	outcome  string // final words (error, cancel reason)
	paused   bool   // stopped by shutdown; resumes after the restart
	canceler string // user who cancelled
	watchers []*watcher
	// delivered: pieces of the result already handed over (see
	// store.Job.Delivered).
	delivered map[string]string
}

// watcher is one requester of a job with their status message.
type watcher struct {
	userID string
	i      *discordgo.Interaction
	at     time.Time // when the interaction arrived
	limit  int64
	st     *statusMsg
	left   bool // cancelled their interest in a shared job
	log    *slog.Logger
}

func (w *watcher) logger(b *Bot) *slog.Logger {
	if w.log != nil {
		return w.log
	}
	return b.log
}

func newID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newJob builds a job for a plan, first requested by w.
func (b *Bot) newJob(id string, plan *pipeline.Plan, key string, w *watcher) *job {
	ctx, cancel := context.WithCancelCause(context.Background())
	j := &job{b: b, id: id, key: key, plan: plan, guildID: w.i.GuildID, channel: w.i.ChannelID,
		limit: w.limit, created: time.Now(), ctx: ctx, cancel: cancel, watchers: []*watcher{w}}
	j.log = b.log.With("job", id)
	w.log = j.log.With("user", w.userID)
	j.pages = filepath.Join(b.jobDir, id+".pages")
	if b.st != nil {
		j.workDir = store.JobDir(b.cfg.OutputDir, id)
		j.outDir = j.workDir + ".out"
		j.pages = j.workDir
	}
	if b.sizedRun(plan) {
		j.maxFile = b.partSize(j.limit)
	}
	j.ckey = b.cacheKey(plan)
	return j
}

func (j *job) kick() {
	j.mu.Lock()
	ws := append([]*watcher(nil), j.watchers...)
	j.mu.Unlock()
	for _, w := range ws {
		if w.st != nil {
			w.st.kick()
		}
	}
}

func (j *job) setNote(s string) {
	j.mu.Lock()
	j.note = s
	j.mu.Unlock()
	j.kick()
}

// stop cancels the job with a cause. A queued job is finished right away.
func (j *job) stop(cause error) {
	j.cancel(cause)
	b := j.b
	b.mu.Lock()
	queued := false
	for i, q := range b.queue {
		if q == j {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			queued = true
			break
		}
	}
	b.mu.Unlock()
	if queued {
		go j.finish(nil, context.Cause(j.ctx), false)
	}
}

// sizedRun reports whether a plan's run is sized for the upload limit:
// parts (or a shrunk file) that can be attached, rather than one file for
// a link.
func (b *Bot) sizedRun(p *pipeline.Plan) bool {
	return b.links == nil || b.env.FitMode(p.Request) == pipeline.FitShrink
}

// run executes a job: the pipeline into its own directory, then delivery.
func (b *Bot) run(j *job) {
	if j.ctx.Err() != nil {
		j.finish(nil, context.Cause(j.ctx), true)
		return
	}
	j.mu.Lock()
	j.state = stateRunning
	j.started = time.Now()
	// Parts are sized for the smallest attachment limit among the
	// requesters so far (one who joins later with a smaller one gets
	// parts rebuilt from the kept pages).
	// With links the result is one file (what a link serves); delivery
	// rebuilds it in parts from the kept pages when it does not fit and
	// at most MaxParts parts do. Shrinking needs the limit either way.
	if b.sizedRun(j.plan) {
		lim := j.limit
		for _, w := range j.watchers {
			if !w.left && w.limit > 0 && w.limit < lim {
				lim = w.limit
			}
		}
		j.maxFile = b.partSize(lim)
	}
	maxFile := j.maxFile
	j.mu.Unlock()
	b.m.JobStarted(j.id)
	j.kick()
	b.persist(j, store.Running)
	j.log.Info("job started", "pages", j.plan.Pages, "resumed", j.resumed)
	dir := j.resultDir()
	if j.workDir != "" {
		// Files a killed run left half-way are made again.
		os.RemoveAll(dir)
	}
	// The pages stay until delivery is over (finish removes them).
	opts := pipeline.RunOptions{Dir: dir, WorkDir: j.pages, KeepPages: true}
	opts.Progress = func(p pipeline.Progress) {
		j.mu.Lock()
		j.prog = p
		save := b.st != nil && time.Since(j.lastSave) >= time.Second
		if save {
			j.lastSave = time.Now()
		}
		j.mu.Unlock()
		j.kick()
		if save {
			b.persistProgress(j)
		}
	}
	out, err := b.runner.RunJob(j.ctx, j.id, j.plan, maxFile, opts)
	if err != nil && j.ctx.Err() != nil {
		err = context.Cause(j.ctx)
	}
	j.finish(out, err, true)
}
