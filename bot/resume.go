package bot

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

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
		j.finish(out, nil, false)
	case rerr != nil:
		j.finish(nil, fmt.Errorf("could not resume after a restart: %s", publicErr(rerr)), false)
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
