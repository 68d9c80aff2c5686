package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/pipeline"
)

// cacheKey names a plan's result: the chapters, the quality and how the
// output was shaped (merge, part size, page settings).
// fitFormat tells results whose pages were changed apart from the others
// ("" for the rest, so keys of earlier results still match).
func fitFormat(env *pipeline.Env, r pipeline.Request) string {
	s := ""
	if env.FitMode(r) == pipeline.FitShrink {
		s += ";fit=shrink"
	}
	if r.Strip || env.Fit.Strip {
		s += ";strip"
	}
	return s
}

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
		Format:    b.formatKey(p) + fitFormat(b.env, p.Request),
	}
}

// formatKey is the part of the cache key saying how the output was made:
// the format and the settings that change its bytes.
func (b *Bot) formatKey(p *pipeline.Plan) string {
	o := b.env.PDF
	k := fmt.Sprintf("%s;merge=%t;placeholders=%t", p.Request.Format, p.Request.Merge, o.Placeholders)
	if book.Format(p.Request.Format) == book.PDF {
		k += fmt.Sprintf(";dpi=%g;webp=%s/%d", o.DPI, o.LossyWebP, o.JPEGQuality)
	}
	return k
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
	j.finish(&pipeline.Output{Files: j.lease.Files, Pages: pages}, nil, false)
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
