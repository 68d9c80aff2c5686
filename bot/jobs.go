package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
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

	mu       sync.Mutex
	state    jobState
	prog     pipeline.Progress
	started  time.Time
	note     string // shown on the status (shutdown notice)
	outcome  string // final words (error, cancel reason)
	canceler string // user who cancelled
	watchers []*watcher
}

// watcher is one requester of a job with their status message.
type watcher struct {
	userID string
	i      *discordgo.Interaction
	at     time.Time // when the interaction arrived
	limit  int64
	st     *statusMsg
	left   bool // cancelled their interest in a shared job
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
	if j := b.byKey[key]; j != nil {
		j.mu.Lock()
		j.watchers = append(j.watchers, w)
		j.mu.Unlock()
		return j, true, nil
	}
	if err := b.limitErrLocked(w.userID, w.i.GuildID); err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	j := &job{b: b, id: newID(), key: key, plan: plan, guildID: w.i.GuildID, channel: w.i.ChannelID,
		limit: w.limit, created: time.Now(), ctx: ctx, cancel: cancel, watchers: []*watcher{w}}
	b.jobs[j.id] = j
	b.byKey[key] = j
	b.queue = append(b.queue, j)
	b.wg.Add(1)
	return j, false, nil
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
	j.mu.Unlock()
	j.kick()
	dir := filepath.Join(b.jobDir, j.id)
	env := *b.env
	env.PDF.MaxFileBytes = 0
	if b.links == nil {
		env.PDF.MaxFileBytes = uploadBudget(j.limit)
	}
	out, err := env.Run(j.ctx, j.plan, dir, func(p pipeline.Progress) {
		j.mu.Lock()
		j.prog = p
		j.mu.Unlock()
		j.kick()
	})
	if err != nil && j.ctx.Err() != nil {
		err = context.Cause(j.ctx)
	}
	j.finishWith(out, err, dir, true)
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
	j.finishWith(out, err, filepath.Join(j.b.jobDir, j.id), wasRunning)
}

// finishWith records the outcome, delivers to every watcher and cleans up.
func (j *job) finishWith(out *pipeline.Output, err error, dir string, wasRunning bool) {
	b := j.b
	defer b.wg.Done()
	j.mu.Lock()
	switch {
	case err == nil:
		j.state = stateDone
	case errors.Is(err, errCanceled) || errors.Is(err, errShutdown) || errors.Is(err, context.Canceled):
		j.state = stateCancelled
		j.outcome = err.Error()
	default:
		j.state = stateFailed
		j.outcome = err.Error()
	}
	var ws []*watcher
	for _, w := range j.watchers {
		if !w.left {
			ws = append(ws, w)
		}
	}
	j.mu.Unlock()
	// Nobody can join a finished job.
	b.mu.Lock()
	if b.byKey[j.key] == j {
		delete(b.byKey, j.key)
	}
	b.mu.Unlock()

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
	os.RemoveAll(dir)
	b.remove(j, wasRunning)
}
