package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

var (
	errShutdown = errors.New("the bot is shutting down")
	errCanceled = errors.New("cancelled")
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

// activeFor counts unfinished jobs of a user and of a guild; b.mu held.
func (b *Bot) countLocked(userID, guildID string) (user, guild int) {
	for _, j := range b.jobs {
		if guildID != "" && j.guildID == guildID {
			guild++
		}
		j.mu.Lock()
		for _, w := range j.watchers {
			if w.userID == userID && !w.left {
				user++
				break
			}
		}
		j.mu.Unlock()
	}
	return
}

// limitErrLocked says why a user may not queue another job; b.mu held.
func (b *Bot) limitErrLocked(userID, guildID string) error {
	u, g := b.countLocked(userID, guildID)
	if b.cfg.MaxQueuedPerUser > 0 && u >= b.cfg.MaxQueuedPerUser {
		return fmt.Errorf("you already have %d jobs queued or running (limit %d); wait for one to finish", u, b.cfg.MaxQueuedPerUser)
	}
	if guildID != "" && b.cfg.MaxQueuedPerGuild > 0 && g >= b.cfg.MaxQueuedPerGuild {
		return fmt.Errorf("this server already has %d jobs queued or running (limit %d); try again later", g, b.cfg.MaxQueuedPerGuild)
	}
	return nil
}

// enqueue adds a job for a resolved plan, or attaches the watcher to an
// identical unfinished job. It reports the job and whether it was shared.
func (b *Bot) enqueue(plan *pipeline.Plan, key string, w *watcher) (*job, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, false, errShutdown
	}
	// The same request, or another one for the same result (the same
	// chapters in the same shape): share it.
	j := b.byKey[key]
	ck := b.cacheKey(plan)
	if j == nil && ck.ChapterID != "" {
		j = b.byCkey[ck.String()]
	}
	if j != nil {
		j.mu.Lock()
		j.watchers = append(j.watchers, w)
		j.mu.Unlock()
		w.log = j.log.With("user", w.userID)
		return j, true, nil
	}
	if err := b.limitErrLocked(w.userID, w.i.GuildID); err != nil {
		return nil, false, err
	}
	j = b.newJob(newID(), plan, key, w)
	if j.lease, j.fromCache = b.cacheGet(j.ckey); !j.fromCache {
		// Only real downloads count against the daily pages.
		day, err := b.quota.charge(w.userID, plan.Pages)
		if err != nil {
			return nil, false, err
		}
		if day != "" {
			j.charged, j.chargeUser, j.chargeDay = plan.Pages, w.userID, day
		}
		b.queue = append(b.queue, j)
		b.m.JobQueued(j.id)
	}
	b.jobs[j.id] = j
	b.byKey[key] = j
	if ck.ChapterID != "" {
		b.byCkey[ck.String()] = j
	}
	b.wg.Add(1)
	return j, false, nil
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
	if b.links == nil {
		j.maxFile = b.partSize(j.limit)
	}
	j.ckey = b.cacheKey(plan)
	return j
}

// schedule starts queued jobs while slots are free and tells waiting jobs
// their new positions.
func (b *Bot) schedule() {
	b.mu.Lock()
	var start []*job
	for b.running < b.cfg.MaxJobs && len(b.queue) > 0 && !b.closing {
		j := b.queue[0]
		b.queue = b.queue[1:]
		b.running++
		start = append(start, j)
	}
	waiting := append([]*job(nil), b.queue...)
	b.mu.Unlock()
	for _, j := range start {
		go b.run(j)
	}
	for _, j := range waiting {
		j.kick()
	}
}

// position is the 1-based place of a job in the queue, 0 when not waiting.
func (b *Bot) position(j *job) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.queue {
		if q == j {
			return i + 1
		}
	}
	return 0
}

// remove forgets a finished job.
func (b *Bot) remove(j *job, wasRunning bool) {
	b.mu.Lock()
	delete(b.jobs, j.id)
	if b.byKey[j.key] == j {
		delete(b.byKey, j.key)
	}
	for i, q := range b.queue {
		if q == j {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			break
		}
	}
	if wasRunning {
		b.running--
	}
	b.mu.Unlock()
	b.schedule()
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
	// at most MaxParts parts do.
	if b.links == nil {
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
	dir := filepath.Join(b.jobDir, j.id)
	if j.workDir != "" {
		dir = j.outDir
		// Files a killed run left half-way are made again.
		os.RemoveAll(j.outDir)
	}
	// The pages stay until delivery is over (finishWith removes them).
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
	env := *b.env
	env.PDF.MaxFileBytes = maxFile
	out, err := env.Run(j.ctx, j.plan, opts)
	if err != nil && j.ctx.Err() != nil {
		err = context.Cause(j.ctx)
	}
	j.finishWith(out, err, dir, true)
}

// partSize is the size of the parts a result is built in for an
// attachment limit: the upload budget, or the operator's
// [output] max_file_bytes when that is smaller.
func (b *Bot) partSize(limit int64) int64 {
	size := uploadBudget(limit)
	if c := b.env.PDF.MaxFileBytes; c > 0 && c < size {
		size = c
	}
	return size
}

// uploadBudget is the largest file worth trying under an attachment limit:
// the multipart envelope and JSON payload need room too.
func uploadBudget(limit int64) int64 {
	margin := max(limit/50, 4<<10)
	if margin > 256<<10 {
		margin = 256 << 10
	}
	return limit - margin
}

func (j *job) finish(out *pipeline.Output, err error, wasRunning bool) {
	dir := filepath.Join(j.b.jobDir, j.id)
	if j.outDir != "" {
		dir = j.outDir
	}
	j.finishWith(out, err, dir, wasRunning)
}

// finishWith records the outcome, delivers to every watcher and cleans up.
//
// The store learns the outcome before any final edit (those retry for a
// while; a crash then must not bring a cancelled or failed job back): a
// cancelled or failed job is written as such at once, a done one as
// "delivering" (with what each watcher already got, see markDelivered) and
// then done or failed. A delivery cut short by shutdown stays
// "delivering", with its files, and resumes after the restart.
func (j *job) finishWith(out *pipeline.Output, err error, dir string, wasRunning bool) {
	b := j.b
	defer b.wg.Done()
	// A job stopped by shutdown is paused, not cancelled, when it can
	// resume after the restart.
	paused := b.st != nil && errors.Is(err, errShutdown)
	// Nobody can join a finished job: it leaves byKey (under b.mu, which
	// enqueue holds while it adds a watcher) before its watchers are
	// taken, so every watcher added before gets the result.
	b.mu.Lock()
	if b.byKey[j.key] == j {
		delete(b.byKey, j.key)
	}
	if ck := j.ckey.String(); b.byCkey[ck] == j {
		delete(b.byCkey, ck)
	}
	b.mu.Unlock()
	j.mu.Lock()
	j.paused = paused
	switch {
	case err == nil:
		j.state = stateDone
	case errors.Is(err, errCanceled) || errors.Is(err, errShutdown) || errors.Is(err, context.Canceled):
		j.state = stateCancelled
		j.outcome = err.Error()
	default:
		j.state = stateFailed
		j.outcome = publicErr(err)
	}
	var ws []*watcher
	for _, w := range j.watchers {
		if !w.left {
			ws = append(ws, w)
		}
	}
	j.mu.Unlock()

	if err == nil && out != nil {
		out = b.keep(j, out)
	}
	b.logOutcome(j, out, err)
	delivering := err == nil && out != nil
	if !paused && !delivering {
		b.refund(j)
	}
	j.mu.Lock()
	madeFiles := len(j.files) > 0 // resumed while delivering
	j.mu.Unlock()
	switch {
	case paused && madeFiles:
		b.persist(j, store.Delivering)
	case paused:
		b.persist(j, store.Queued)
	case delivering:
		b.persistFiles(j, out.Files)
	default:
		b.persistEnd(j, false)
	}

	var wg sync.WaitGroup
	d := newDelivery(b, j, out)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.to(w)
		}()
	}
	wg.Wait()
	d.cleanup()
	// A delivery that failed because shutdown ran out of time stays
	// "delivering": it is done after the restart.
	interrupted := delivering && d.failed.Load() && b.hardStop.Err() != nil && b.st != nil && !j.fromCache
	for _, l := range []*cache.Lease{j.lease, j.kept} {
		if l != nil {
			l.Release()
		}
	}
	if delivering && !interrupted {
		b.persistEnd(j, d.failed.Load())
	}
	if (!paused && !interrupted) || j.workDir == "" {
		os.RemoveAll(j.pages)
	}
	if dir != "" && !interrupted && !(paused && madeFiles) {
		os.RemoveAll(dir)
	}
	state := metrics.StateDone
	switch {
	case paused || interrupted:
		// Neither done nor cancelled: it resumes after the restart.
		state = ""
	case err == nil && d.failed.Load():
		state = metrics.StateFailed
	case err == nil:
	case errors.Is(err, errCanceled) || errors.Is(err, errShutdown) || errors.Is(err, context.Canceled):
		state = metrics.StateCancelled
	default:
		state = metrics.StateFailed
	}
	if state != "" {
		b.m.JobFinished(j.id, state)
	} else {
		b.m.JobPaused(j.id)
	}
	b.remove(j, wasRunning)
}

// refund gives back the pages charged for the job that were not fetched.
func (b *Bot) refund(j *job) {
	j.mu.Lock()
	n := j.charged - j.prog.PagesDone
	j.charged = 0
	user, day := j.chargeUser, j.chargeDay
	j.mu.Unlock()
	if n > 0 {
		b.quota.refund(user, day, n)
	}
}
