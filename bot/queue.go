package bot

import (
	"fmt"

	"github.com/mangabot/mangabot/pipeline"
)

// countLocked counts unfinished jobs of a user and of a guild; b.mu held.
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
