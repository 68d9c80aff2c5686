package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
// queued (before the status response goes out, and again with every
// watcher who joins, so all of them are delivered after a restart), when
// it starts, at most once a second while pages complete, when its files
// are made ("delivering", with the files), after each piece of the result
// is handed over (Delivered: the message that carries it) and when it
// ends: a cancelled or failed job before its final edits, a delivered one
// as done, or failed when its delivery failed. Pages go to
// store.JobDir(OutputDir, id) and the PDFs to that dir + ".out", so
// store.CleanOrphans at start removes the dirs of jobs that are gone.
//
// Finished jobs stay in the store with their final state (for
// inspection) and are deleted at the first start a day after they ended.
//
// At start unfinished jobs are registered at once (listed, cancellable),
// then, after the gateway is up, resolved again in parallel with the
// same id and status messages: queued and running ones are queued (pages
// already on disk are not fetched again); a job that was delivering sends
// only what it had not sent (and nothing when its status message already
// carries the file). Jobs stopped by a shutdown are "paused": they stay
// unfinished in the store and resume too.

// openStorage opens the cache and the store, removes the temp files of
// jobs that no longer exist and returns the jobs to resume.
func (b *Bot) openStorage() ([]store.Job, error) {
	if b.cfg.CacheKeep > 0 {
		c, err := cache.Open(filepath.Join(b.cfg.OutputDir, "cache"), cache.Options{Keep: b.cfg.CacheKeep, MaxBytes: b.cfg.CacheMaxBytes})
		if err != nil {
			return nil, err
		}
		if n, err := c.Sweep(time.Now()); err != nil {
			b.log.Warn("cache sweep failed", "err", err)
		} else if n > 0 {
			b.log.Info("cache swept", "removed", n)
		}
		b.cache = c
	}
	if b.cfg.StorePath == "" {
		b.cleanTemp(nil)
		return nil, nil
	}
	st, err := store.Open(b.cfg.StorePath, store.Options{})
	if err != nil {
		return nil, err
	}
	pending, err := st.Unfinished()
	if err != nil {
		st.Close()
		return nil, err
	}
	live := map[string]bool{}
	for _, j := range pending {
		live[j.ID] = true
	}
	b.cleanTemp(live)
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

// cleanTemp removes, at start, the temp files of jobs that are gone: the
// job dirs of the store's dead jobs (store.CleanOrphans on OutputDir) and
// everything under the jobs dir (store-less jobs' dirs and pages, parts
// rebuilt for a delivery: no job of this process exists yet, and a
// resumed one makes them again).
func (b *Bot) cleanTemp(live map[string]bool) {
	if err := store.CleanOrphans(b.cfg.OutputDir, live); err != nil {
		b.log.Warn("removing temp files of old jobs failed", "err", err)
	}
	ents, err := os.ReadDir(b.jobDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(b.jobDir, e.Name())); err != nil {
			b.log.Warn("removing temp files of old jobs failed", "err", err)
		}
	}
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

// put writes the job in the given state; j.saveMu held. Every watcher
// still waiting is written (the first one also in the record's own
// fields), with what was already delivered.
func (b *Bot) put(j *job, st store.State) {
	j.mu.Lock()
	var ws []*watcher
	for _, w := range j.watchers {
		if !w.left {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		ws = j.watchers[:1]
	}
	w := ws[0]
	rec := store.Job{
		ID: j.id, Request: store.Request(j.plan.Request),
		UserID: w.userID, GuildID: j.guildID, ChannelID: j.channel,
		AppID: w.i.AppID, InteractionID: w.i.ID, InteractionToken: w.i.Token,
		TokenExpires: w.at.Add(b.cfg.TokenTTL), AttachmentLimit: j.limit,
		State: st, PagesDone: j.prog.PagesDone, PagesTotal: j.plan.Pages,
		WorkDir: j.workDir, Files: j.files, Error: j.outcome,
		Delivered: maps.Clone(j.delivered),
	}
	j.mu.Unlock()
	for _, w := range ws {
		sw := store.Watcher{UserID: w.userID, GuildID: w.i.GuildID, ChannelID: w.i.ChannelID,
			AppID: w.i.AppID, InteractionID: w.i.ID, InteractionToken: w.i.Token,
			TokenExpires: w.at.Add(b.cfg.TokenTTL), AttachmentLimit: w.limit}
		if w.st != nil {
			sw.StatusMessageID = w.st.messageID()
		}
		rec.Watchers = append(rec.Watchers, sw)
	}
	rec.StatusMessageID = rec.Watchers[0].StatusMessageID
	if _, err := b.st.Put(rec); err != nil {
		j.log.Error("saving the job failed", "state", st, "err", err)
	}
}

// delivered reports whether a piece of the result (key: see
// store.Job.Delivered) was already handed over.
func (j *job) isDelivered(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.delivered[key]
	return ok
}

// markDelivered records (in the store at once, when there is one) that a
// piece of the result was handed over in message msgID.
func (j *job) markDelivered(key, msgID string) {
	j.mu.Lock()
	if j.delivered == nil {
		j.delivered = map[string]string{}
	}
	j.delivered[key] = msgID
	j.mu.Unlock()
	j.b.persist(j, store.Delivering)
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

// persistLive writes a queued or running job as it is now (its watchers
// changed); a job already ending is left to finishWith.
func (b *Bot) persistLive(j *job) {
	if b.st == nil || j.fromCache {
		return
	}
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	st := j.state
	j.mu.Unlock()
	switch st {
	case stateQueued:
		b.put(j, store.Queued)
	case stateRunning:
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

// persistEnd writes the final state; failed: the job was done but its
// delivery failed.
func (b *Bot) persistEnd(j *job, failed bool) {
	j.mu.Lock()
	st := store.Failed
	switch j.state {
	case stateDone:
		st = store.Done
	case stateCancelled:
		st = store.Cancelled
	}
	j.mu.Unlock()
	if failed {
		st = store.Failed
	}
	b.persist(j, st)
}

// ---- resuming ----

// resumed is a registered job waiting to be resumed.
type resumed struct {
	j   *job
	rec store.Job
}

// registerAll registers the store's unfinished jobs at once (before any
// interaction can arrive: they can be cancelled and are listed by /manga
// jobs from the start); resumeAll then resumes them.
func (b *Bot) registerAll(pending []store.Job) []resumed {
	var rs []resumed
	for _, rec := range pending {
		j := b.resumeJob(rec)
		if err := b.registerResumed(j); err != nil {
			b.log.Info("not resumed: shutting down", "job", rec.ID)
			break
		}
		rs = append(rs, resumed{j, rec})
	}
	return rs
}

// abortResumed forgets registered jobs that will not be resumed (Run
// fails); they stay unfinished in the store.
func (b *Bot) abortResumed(rs []resumed) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rs {
		delete(b.jobs, r.j.id)
		b.wg.Done()
	}
}

// resumeAll resolves registered jobs again in parallel, under a context
// that a cancel of the job or shutdown's hard stop ends; each is queued
// or delivered once resolved.
func (b *Bot) resumeAll(rs []resumed) {
	for _, r := range rs {
		go b.resume(r.j, r.rec)
	}
}

// resumeJob re-creates one job from its record, with a stand-in plan until
// it is resolved again.
func (b *Bot) resumeJob(rec store.Job) *job {
	ws := rec.Watchers
	if len(ws) == 0 {
		ws = []store.Watcher{{UserID: rec.UserID, GuildID: rec.GuildID, ChannelID: rec.ChannelID,
			AppID: rec.AppID, InteractionID: rec.InteractionID, InteractionToken: rec.InteractionToken,
			TokenExpires: rec.TokenExpires, StatusMessageID: rec.StatusMessageID, AttachmentLimit: rec.AttachmentLimit}}
	}
	title := rec.Request.URL
	if rec.State == store.Delivering && len(rec.Files) > 0 {
		title = strings.TrimSuffix(filepath.Base(rec.Files[0]), ".pdf")
	}
	plan := &pipeline.Plan{Site: "?", Request: pipeline.Request(rec.Request), Title: title, Pages: rec.PagesTotal}
	var j *job
	for n, sw := range ws {
		i := &discordgo.Interaction{ID: sw.InteractionID, AppID: sw.AppID, Type: discordgo.InteractionApplicationCommand,
			Token: sw.InteractionToken, ChannelID: sw.ChannelID, GuildID: sw.GuildID}
		if sw.GuildID != "" {
			i.Member = &discordgo.Member{User: &discordgo.User{ID: sw.UserID}}
		} else {
			i.User = &discordgo.User{ID: sw.UserID}
		}
		w := &watcher{userID: sw.UserID, i: i, at: sw.TokenExpires.Add(-b.cfg.TokenTTL), limit: sw.AttachmentLimit}
		if w.limit <= 0 {
			w.limit = b.cfg.DefaultAttachmentLimit
		}
		if n == 0 {
			j = b.newJob(rec.ID, plan, pipeline.Request(rec.Request).Key(), w)
		} else {
			w.log = j.log.With("user", w.userID)
			j.watchers = append(j.watchers, w)
		}
		w.st = b.newStatus(w, func() view { return j.view("") })
		w.st.msgID = sw.StatusMessageID
	}
	j.resumed = true
	j.note = "🔄 Resumed after a restart."
	j.prog.PagesDone = rec.PagesDone
	j.delivered = maps.Clone(rec.Delivered)
	if rec.State == store.Delivering {
		j.files = rec.Files
	}
	return j
}

// registerResumed adds a resumed job to the unfinished jobs (not to the queue).
func (b *Bot) registerResumed(j *job) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return errShutdown
	}
	b.jobs[j.id] = j
	b.wg.Add(1)
	return nil
}

// resume resolves a registered resumed job again and queues or delivers
// it. Resolving ends with shutdown (hard stop) or a cancel of the job.
func (b *Bot) resume(j *job, rec store.Job) {
	log := j.log
	ctx, cancel := context.WithTimeout(j.ctx, b.cfg.ResolveTimeout)
	stop := context.AfterFunc(b.hardStop, cancel)
	plan, rerr := b.env.Resolve(ctx, pipeline.Request(rec.Request))
	stop()
	cancel()
	if j.ctx.Err() != nil {
		// Cancelled (or stopped by shutdown) while resolving.
		j.finish(nil, context.Cause(j.ctx), false)
		return
	}
	delivering := rec.State == store.Delivering && filesExist(rec.Files)
	if rerr == nil {
		j.mu.Lock()
		j.plan = plan
		j.mu.Unlock()
		j.ckey = b.cacheKey(plan)
	}
	var out *pipeline.Output
	switch {
	case delivering:
		j.delivering = &rec
		out = &pipeline.Output{Files: rec.Files, Pages: rec.PagesTotal}
		if rerr == nil {
			if l, ok := b.cacheGet(j.ckey); ok {
				j.lease, out.Files = l, l.Files
			}
		}
	case rerr != nil:
		log.Warn("resumed job could not be resolved", "err", rerr)
	}
	log.Info("job resumed", "state", rec.State, "pages_done", rec.PagesDone, "pages", j.plan.Pages)
	switch {
	case out != nil:
		j.mu.Lock()
		j.state = stateRunning
		j.mu.Unlock()
		b.m.JobStarted(j.id)
		j.finishWith(out, nil, j.outDir, false)
	case rerr != nil:
		j.finishWith(nil, fmt.Errorf("could not resume after a restart: %s", publicErr(rerr)), j.outDir, false)
	default:
		b.mu.Lock()
		if b.closing || j.ctx.Err() != nil {
			b.mu.Unlock()
			cause := context.Cause(j.ctx)
			if cause == nil {
				cause = errShutdown
			}
			j.finish(nil, cause, false)
			return
		}
		if b.byKey[j.key] == nil {
			b.byKey[j.key] = j
		}
		if ck := j.ckey.String(); j.ckey.ChapterID != "" && b.byCkey[ck] == nil {
			b.byCkey[ck] = j
		}
		b.queue = append(b.queue, j)
		b.m.JobQueued(j.id)
		b.mu.Unlock()
		j.mu.Lock()
		ws := append([]*watcher(nil), j.watchers...)
		j.mu.Unlock()
		for _, w := range ws {
			v := j.view("")
			b.finalEdit(w, v) // shows "resumed" at once, through the bot token if need be
			w.st.start(v)
		}
		b.schedule()
	}
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
func (b *Bot) cacheKey(p *pipeline.Plan) cache.Key {
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
		Quality:   normQuality(p.Request.Quality),
		Format: fmt.Sprintf("pdf;merge=%t;dpi=%g;placeholders=%t",
			p.Request.Merge, b.env.PDF.DPI, b.env.PDF.Placeholders),
	}
}

// normQuality names a quality one way ("data" is MangaDex's "original").
// The empty quality (the site's default) stays empty: the bot cannot see
// a site's configured default (see the report on sites).
func normQuality(q string) string {
	switch q = strings.ToLower(strings.TrimSpace(q)); q {
	case "data":
		return "original"
	case "datasaver", "data_saver":
		return "data-saver"
	}
	return q
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
