package bot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

// isCancel reports an error that means the job was stopped rather than
// failed: a cancel, shutdown, or its context ending.
func isCancel(err error) bool {
	return errors.Is(err, errCanceled) || errors.Is(err, errShutdown) || errors.Is(err, context.Canceled)
}

// resultDir is where the job's PDFs are made ("" for a cache hit, whose
// files belong to the cache).
func (j *job) resultDir() string {
	switch {
	case j.fromCache:
		return ""
	case j.outDir != "":
		return j.outDir
	}
	return filepath.Join(j.b.jobDir, j.id)
}

// finish records the outcome, delivers to every watcher and cleans up.
// out is the result when err is nil (nil: nothing to deliver);
// wasRunning says the job held a running slot.
//
// The store learns the outcome before any final edit (those retry for a
// while; a crash then must not bring a cancelled or failed job back): a
// cancelled or failed job is written as such at once, a done one as
// "delivering" (with what each watcher already got, see markDelivered) and
// then done or failed. A delivery cut short by shutdown stays
// "delivering", with its files, and resumes after the restart.
func (j *job) finish(out *pipeline.Output, err error, wasRunning bool) {
	b := j.b
	defer b.wg.Done()
	// A job stopped by shutdown is paused, not cancelled, when it can
	// resume after the restart.
	paused := b.st != nil && errors.Is(err, errShutdown)
	b.unlist(j)
	ws := j.settle(err, paused)
	if err == nil && out != nil {
		out = b.keep(j, out)
	}
	b.logOutcome(j, out, err)
	delivering := err == nil && out != nil
	if delivering {
		j.mu.Lock()
		j.fitted = fitLines(out)
		j.mu.Unlock()
	}
	if !paused && !delivering {
		b.refund(j)
	}
	j.mu.Lock()
	madeFiles := len(j.files) > 0 // resumed while delivering
	j.mu.Unlock()
	b.persistOutcome(j, out, paused, madeFiles, delivering)
	if delivering {
		b.handedOver(j)
	}

	failed := j.deliverAll(out, ws)
	// A delivery that failed because shutdown ran out of time stays
	// "delivering": it is done after the restart.
	interrupted := delivering && failed && b.hardStop.Err() != nil && b.st != nil && !j.fromCache
	for _, l := range []*cache.Lease{j.lease, j.kept} {
		if l != nil {
			l.Release()
		}
	}
	if delivering && !interrupted {
		b.persistEnd(j, failed)
	}
	j.removeTemp(paused, interrupted, madeFiles)
	b.countOutcome(j, err, failed, paused || interrupted)
	b.remove(j, wasRunning)
}

// unlist takes a finishing job out of the maps requests join by. Nobody
// can join a finished job: it leaves byKey (under b.mu, which enqueue
// holds while it adds a watcher) before its watchers are taken, so every
// watcher added before gets the result.
func (b *Bot) unlist(j *job) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byKey[j.key] == j {
		delete(b.byKey, j.key)
	}
	if ck := j.ckey.String(); b.byCkey[ck] == j {
		delete(b.byCkey, ck)
	}
}

// settle sets the job's final state from err and returns the watchers
// still waiting for it.
func (j *job) settle(err error, paused bool) []*watcher {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.paused = paused
	switch {
	case err == nil:
		j.state = stateDone
	case isCancel(err):
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
	return ws
}

// persistOutcome writes what the job came to before anyone is told: a
// paused job stays unfinished, a finished download is delivering, any
// other end is final.
func (b *Bot) persistOutcome(j *job, out *pipeline.Output, paused, madeFiles, delivering bool) {
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
}

// deliverAll hands the result (or the failure) to the watchers at once
// and reports whether any delivery failed.
func (j *job) deliverAll(out *pipeline.Output, ws []*watcher) (failed bool) {
	var wg sync.WaitGroup
	d := newDelivery(j.b, j, out)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.to(w)
		}()
	}
	wg.Wait()
	d.cleanup()
	return d.failed.Load()
}

// removeTemp removes the pages and the result files, except what a job
// that resumes after the restart still needs.
func (j *job) removeTemp(paused, interrupted, madeFiles bool) {
	if (!paused && !interrupted) || j.workDir == "" {
		os.RemoveAll(j.pages)
	}
	if dir := j.resultDir(); dir != "" && !interrupted && !(paused && madeFiles) {
		os.RemoveAll(dir)
	}
}

// countOutcome tells the metrics how the job ended; resumes: it was
// neither done nor cancelled but resumes after the restart.
func (b *Bot) countOutcome(j *job, err error, deliveryFailed, resumes bool) {
	var state string
	switch {
	case resumes:
		b.m.JobPaused(j.id)
		return
	case err == nil && deliveryFailed:
		state = metrics.StateFailed
	case err == nil:
		state = metrics.StateDone
	case isCancel(err):
		state = metrics.StateCancelled
	default:
		state = metrics.StateFailed
	}
	b.m.JobFinished(j.id, state)
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
		for _, f := range out.Fitted {
			j.log.Info("file shrunk to fit", "file", filepath.Base(f.File), "before", f.Before, "after", f.After,
				"quality", f.Quality, "width", f.Width, "similarity", f.SSIM, "worst_similarity", f.WorstSSIM)
		}
		for _, n := range out.Notes {
			j.log.Info("fit", "note", n)
		}
	case paused:
		j.log.Info("job paused until restart")
	case isCancel(err):
		j.log.Info("job cancelled", "reason", err, "took", took)
	default:
		j.log.Warn("job failed", "err", err, "took", took)
	}
}
