package bot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

// Durable jobs.
//
// With a store (Config.StorePath) every job is written to it when it is
// queued (after its status message exists, so the message id is known),
// when it starts, at most once a second while pages complete, when its
// files are made ("delivering", with the files) and when it ends. Pages go
// to store.JobDir(OutputDir, id) and the PDFs to that dir + ".out", so
// store.CleanOrphans at start removes the dirs of jobs that are gone.
//
// Finished jobs stay in the store with their final state (for
// inspection) and are deleted at the first start a day after they ended.
//
// At start, after the gateway is up, unfinished jobs are resumed with the
// same id and status message: queued and running ones are resolved again
// and queued (pages already on disk are not fetched again); a job that
// was delivering is not delivered again when its status message already
// carries the file, else its kept files are delivered. Jobs stopped by a
// shutdown are "paused": they stay unfinished in the store and resume too.

// openStorage opens the cache and the store, removes the temp files of
// jobs that no longer exist and returns the jobs to resume.
func (b *Bot) openStorage() ([]store.Job, error) {
	if b.cfg.CacheKeep > 0 {
		c, err := cache.OpenWith(filepath.Join(b.cfg.OutputDir, "cache"), cache.Options{Keep: b.cfg.CacheKeep, MaxBytes: b.cfg.CacheMaxBytes})
		if err != nil {
			return nil, fmt.Errorf("bot: %w", err)
		}
		if n, err := c.Sweep(time.Now()); err != nil {
			b.log.Warn("cache sweep failed", "err", err)
		} else if n > 0 {
			b.log.Info("cache swept", "removed", n)
		}
		b.cache = c
	}
	if b.cfg.StorePath == "" {
		return nil, nil
	}
	st, err := store.Open(b.cfg.StorePath)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	pending, err := st.Unfinished()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("bot: %w", err)
	}
	live := map[string]bool{}
	for _, j := range pending {
		live[j.ID] = true
	}
	if err := store.CleanOrphans(b.cfg.OutputDir, live); err != nil {
		b.log.Warn("removing temp files of old jobs failed", "err", err)
	}
	old, err := st.List(func(j store.Job) bool { return j.State.Finished() && time.Since(j.Updated) > 24*time.Hour })
	if err == nil {
		for _, j := range old {
			_ = st.Delete(j.ID)
		}
	}
	if _, err := st.PrunePages(store.Day(b.cfg.Now().Add(-24 * time.Hour))); err != nil {
		b.log.Warn("pruning page counters failed", "err", err)
	}
	b.st = st
	b.quota.st = st
	return pending, nil
}

func (b *Bot) closeStorage() {
	if b.st != nil {
		if err := b.st.Close(); err != nil {
			b.log.Warn("closing the store failed", "err", err)
		}
	}
}

// sweepCache expires and evicts cache entries until ctx ends.
func (b *Bot) sweepCache(ctx context.Context) {
	t := time.NewTicker(b.cfg.CacheSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := b.cache.Sweep(now); err != nil {
				b.log.Warn("cache sweep failed", "err", err)
			} else if n > 0 {
				b.log.Info("cache swept", "removed", n)
			}
		}
	}
}

// ---- persisting ----

// put writes the job in the given state; j.saveMu held.
func (b *Bot) put(j *job, st store.State) {
	j.mu.Lock()
	w := j.watchers[0]
	rec := store.Job{
		ID: j.id, Request: j.plan.Request,
		UserID: w.userID, GuildID: j.guildID, ChannelID: j.channel,
		AppID: w.i.AppID, InteractionID: w.i.ID, InteractionToken: w.i.Token,
		TokenExpires: w.at.Add(b.cfg.TokenTTL), AttachmentLimit: j.limit,
		State: st, PagesDone: j.prog.PagesDone, PagesTotal: j.plan.Pages,
		WorkDir: j.workDir, Files: j.files, Error: j.outcome,
	}
	j.mu.Unlock()
	if w.st != nil {
		rec.StatusMessageID = w.st.messageID()
	}
	if _, err := b.st.Put(rec); err != nil {
		j.log.Error("saving the job failed", "state", st, "err", err)
	}
}

// persist writes the job in a state. Cache hits are not persisted: they
// end in moments and have nothing to resume.
func (b *Bot) persist(j *job, st store.State) {
	if b.st == nil || j.fromCache {
		return
	}
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	b.put(j, st)
}

// persistProgress saves the pages done while the job runs (a save racing
// the job's end is dropped: the end is written after it).
func (b *Bot) persistProgress(j *job) {
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	running := j.state == stateRunning
	j.mu.Unlock()
	if running {
		b.put(j, store.Running)
	}
}

// persistFiles records that the job's files exist and are being delivered.
func (b *Bot) persistFiles(j *job, files []string) {
	j.mu.Lock()
	j.files = files
	j.mu.Unlock()
	b.persist(j, store.Delivering)
}

// persistEnd writes the final state.
func (b *Bot) persistEnd(j *job) {
	j.mu.Lock()
	st := store.Failed
	switch j.state {
	case stateDone:
		st = store.Done
	case stateCancelled:
		st = store.Cancelled
	}
	j.mu.Unlock()
	b.persist(j, st)
}

// ---- resuming ----

// resumeAll resumes the store's unfinished jobs, in their order, in the
// background.
func (b *Bot) resumeAll(pending []store.Job) {
	if len(pending) == 0 {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, rec := range pending {
			if b.isClosing() {
				return
			}
			b.resume(rec)
		}
	}()
}

// resume re-creates one job from its record.
func (b *Bot) resume(rec store.Job) {
	log := b.log.With("job", rec.ID)
	i := &discordgo.Interaction{ID: rec.InteractionID, AppID: rec.AppID, Type: discordgo.InteractionApplicationCommand,
		Token: rec.InteractionToken, ChannelID: rec.ChannelID, GuildID: rec.GuildID}
	if rec.GuildID != "" {
		i.Member = &discordgo.Member{User: &discordgo.User{ID: rec.UserID}}
	} else {
		i.User = &discordgo.User{ID: rec.UserID}
	}
	w := &watcher{userID: rec.UserID, i: i, at: rec.TokenExpires.Add(-b.cfg.TokenTTL), limit: rec.AttachmentLimit}
	if w.limit <= 0 {
		w.limit = b.cfg.DefaultAttachmentLimit
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ResolveTimeout)
	plan, rerr := b.env.Resolve(ctx, rec.Request)
	cancel()
	delivering := rec.State == store.Delivering && filesExist(rec.Files)
	if rerr != nil {
		title := rec.Request.URL
		if delivering {
			title = strings.TrimSuffix(filepath.Base(rec.Files[0]), ".pdf")
		}
		plan = &pipeline.Plan{Site: "?", Request: rec.Request, Title: title, Pages: rec.PagesTotal}
	}
	j := b.newJob(rec.ID, plan, rec.Request.Key(), w)
	j.resumed = true
	j.note = "🔄 Resumed after a restart."
	j.prog.PagesDone = rec.PagesDone
	w.st = b.newStatus(w, func() view { return j.view("") })
	w.st.msgID = rec.StatusMessageID

	var out *pipeline.Output
	switch {
	case delivering:
		if b.alreadyDelivered(w) {
			log.Info("resumed job was already delivered")
			j.mu.Lock()
			j.state = stateDone
			j.files = rec.Files
			j.mu.Unlock()
			b.persistEnd(j)
			for _, f := range rec.Files {
				if filepath.Dir(f) == j.outDir {
					os.Remove(f)
				}
			}
			os.RemoveAll(j.outDir)
			return
		}
		out = &pipeline.Output{Files: rec.Files, Pages: rec.PagesTotal}
		if l, ok := b.cacheGet(j.ckey); ok {
			j.lease, out.Files = l, l.Files
		}
	case rerr != nil:
		log.Warn("resumed job could not be resolved", "err", rerr)
	}
	if err := b.enqueueResumed(j, out == nil && rerr == nil); err != nil {
		log.Info("not resumed: shutting down")
		return
	}
	log.Info("job resumed", "state", rec.State, "pages_done", rec.PagesDone, "pages", plan.Pages)
	switch {
	case out != nil:
		j.mu.Lock()
		j.state = stateRunning
		j.mu.Unlock()
		b.m.JobStarted(j.id)
		go j.finishWith(out, nil, j.outDir, false)
	case rerr != nil:
		go j.finishWith(nil, fmt.Errorf("could not resume after a restart: %s", publicErr(rerr)), j.outDir, false)
	default:
		v := j.view("")
		b.finalEdit(w, v) // shows "resumed" at once, through the bot token if need be
		w.st.start(v)
		b.schedule()
	}
}

// enqueueResumed registers a resumed job (no limits or quotas: it was
// accepted before the restart), queued when queue is set.
func (b *Bot) enqueueResumed(j *job, queue bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return errShutdown
	}
	b.jobs[j.id] = j
	if b.byKey[j.key] == nil {
		b.byKey[j.key] = j
	}
	if queue {
		b.queue = append(b.queue, j)
		b.m.JobQueued(j.id)
	}
	b.wg.Add(1)
	return nil
}

// alreadyDelivered reports whether the status message already carries
// files, as it does after a single-file delivery through the interaction
// token. Unknown (token gone, error): false, so the files are delivered.
func (b *Bot) alreadyDelivered(w *watcher) bool {
	if w.st.tokenDead() {
		return false
	}
	m, err := b.s.InteractionResponse(w.i)
	return err == nil && m != nil && len(m.Attachments) > 0
}

func filesExist(files []string) bool {
	if len(files) == 0 {
		return false
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// ---- cache ----

// cacheKey names a plan's result: the chapters, the quality and how the
// output was shaped (merge, part size, page settings).
func (b *Bot) cacheKey(p *pipeline.Plan, maxFile int64) cache.Key {
	ids := make([]string, len(p.Chapters))
	for i, c := range p.Chapters {
		ids[i] = c.ID
		if ids[i] == "" {
			ids[i] = c.SourceURL
		}
	}
	return cache.Key{
		Site:      p.Site,
		ChapterID: strings.Join(ids, ","),
		Quality:   p.Request.Quality,
		Format: fmt.Sprintf("pdf;merge=%t;max=%d;dpi=%g;placeholders=%t",
			p.Request.Merge, maxFile, b.env.PDF.DPI, b.env.PDF.Placeholders),
	}
}

func (b *Bot) cacheGet(k cache.Key) (*cache.Lease, bool) {
	if b.cache == nil || k.ChapterID == "" {
		return nil, false
	}
	return b.cache.Get(k)
}

// keep puts a fresh result in the cache and returns it with the files'
// new paths. Results with failed pages are not kept: a retry may do better.
func (b *Bot) keep(j *job, out *pipeline.Output) *pipeline.Output {
	if b.cache == nil || j.lease != nil || len(out.Failed) > 0 || len(out.Errors) > 0 || len(out.Files) == 0 {
		return out
	}
	l, err := b.cache.Put(j.ckey, out.Files, map[string]string{"pages": strconv.Itoa(out.Pages)})
	if err != nil {
		j.log.Warn("caching the result failed", "err", err)
		return out
	}
	j.kept = l
	o := *out
	o.Files = l.Files
	return &o
}

// runCached delivers a cache hit.
func (b *Bot) runCached(j *job) {
	pages, _ := strconv.Atoi(j.lease.Meta["pages"])
	j.mu.Lock()
	j.state = stateRunning
	j.prog = pipeline.Progress{PagesDone: j.plan.Pages, PagesTotal: j.plan.Pages}
	j.mu.Unlock()
	b.m.JobStarted(j.id)
	j.finishWith(&pipeline.Output{Files: j.lease.Files, Pages: pages}, nil, "", false)
}

// logOutcome logs how a job ended.
func (b *Bot) logOutcome(j *job, out *pipeline.Output, err error) {
	took := time.Since(j.created).Round(time.Millisecond)
	j.mu.Lock()
	paused := j.paused
	j.mu.Unlock()
	switch {
	case err == nil && out != nil:
		j.log.Info("job done", "files", len(out.Files), "pages", out.Pages, "bytes", out.Bytes,
			"failed_pages", len(out.Failed), "from_cache", j.fromCache, "took", took)
	case paused:
		j.log.Info("job paused until restart")
	case errors.Is(err, errCanceled) || errors.Is(err, errShutdown) || errors.Is(err, context.Canceled):
		j.log.Info("job cancelled", "reason", err, "took", took)
	default:
		j.log.Warn("job failed", "err", err, "took", took)
	}
}
