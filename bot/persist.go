package bot

import (
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/store"
)

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
	st := b.cfg.Store
	if st == nil && b.cfg.StorePath == "" {
		b.cleanTemp(nil)
		return nil, nil
	}
	if st == nil {
		bs, err := store.Open(b.cfg.StorePath, store.Options{})
		if err != nil {
			return nil, err
		}
		st = bs
	}
	unfinished, err := st.Unfinished()
	if err != nil {
		b.closeStore(st)
		return nil, err
	}
	live := map[string]bool{}
	var pending []store.Job
	for _, j := range unfinished {
		live[j.ID] = true
		// A shared store holds the jobs of every gateway: this one
		// resumes those of its shard's guilds.
		if b.ownsGuild(j.GuildID) {
			pending = append(pending, j)
		}
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
		b.closeStore(b.st)
	}
}

// closeStore closes the store if the bot opened it (Config.StorePath; a
// Config.Store is its giver's).
func (b *Bot) closeStore(st store.Store) {
	if b.cfg.Store != nil {
		return
	}
	if err := st.Close(); err != nil {
		b.log.Warn("closing the store failed", "err", err)
	}
}

// ownsGuild says whether guild's events come to this process's Discord
// shard (Discord's rule: (guild_id >> 22) % shard_count; direct
// messages come to shard 0), so of several gateways on one shared store
// exactly one resumes each job and checks each follow.
func (b *Bot) ownsGuild(guild string) bool {
	if b.cfg.ShardCount <= 1 {
		return true
	}
	id, err := strconv.ParseUint(guild, 10, 64)
	if err != nil {
		return b.cfg.ShardID == 0
	}
	return int((id>>22)%uint64(b.cfg.ShardCount)) == b.cfg.ShardID
}

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
// changed); a job already ending is left to finish.
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
