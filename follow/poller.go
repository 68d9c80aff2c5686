package follow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/store"
)

// ErrGone is wrapped by a Deliverer's error when the destination is gone
// for good (deleted channel, left guild): the follow is paused, not
// retried.
var ErrGone = errors.New("destination gone")

// Deliverer hands a found chapter over. It returns the id of the message
// that carries it ("" when there is none, as in a shell).
type Deliverer interface {
	Deliver(ctx context.Context, f store.Follow, c store.Found) (string, error)
}

// Observer is told what the poller does (metrics); every method may be
// called from several goroutines.
type Observer interface {
	Round(checked int, took time.Duration)
	Checked(site string, err error)
	Found(site string, n int)
	Delivered(site string, err error)
	Paused(site, reason string)
}

// Options configure a Poller. Store, Env and Deliver are required.
type Options struct {
	Store   store.Store
	Env     *pipeline.Env
	Config  config.Follows
	Deliver Deliverer
	Observe Observer // nil: none
	Log     *slog.Logger
	// Keep selects the follows this poller checks (the bot: those with a
	// channel; the shell: those without). Nil: all.
	Keep func(*store.Follow) bool
	// Hook, when set, is called at the points a crash test stops the
	// process: "pending" (new chapters recorded, none posted) and
	// "delivered" (a chapter posted, not yet marked).
	Hook func(stage string)
	Now  func() time.Time
}

// keepDelivered is how long a delivered chapter's record (which its
// Download button reads) is kept.
const keepDelivered = 90 * 24 * time.Hour

// Poller checks follows. Its methods are safe for concurrent use.
type Poller struct {
	o Options

	mu       sync.Mutex
	checking map[string]context.CancelFunc // follow ID -> its check under way
	wake     chan struct{}
}

// New builds a poller.
func New(o Options) *Poller {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config.Checks <= 0 {
		o.Config.Checks = 1
	}
	return &Poller{o: o, checking: map[string]context.CancelFunc{}, wake: make(chan struct{}, 1)}
}

// Add checks that link is a series some site can list, takes its baseline
// (everything listed now is seen, nothing is delivered) and stores the
// follow. f carries where and how to deliver (Guild, Channel, By,
// Language, Groups, Deliver).
func (p *Poller) Add(ctx context.Context, link string, f store.Follow) (store.Follow, error) {
	u, name, l, err := p.lister(link)
	if err != nil {
		return f, err
	}
	listing, err := l.List(ctx, p.o.Env.SiteEnv, sites.ListRequest{URL: u, Language: f.Language})
	if err != nil {
		return f, fmt.Errorf("%s: %w", name, pipeline.Friendly(err))
	}
	f.ID, f.URL, f.Site, f.Title = store.NewFollowID(), u.String(), name, listing.Series
	if len(listing.Chapters) > 0 && listing.Chapters[0].Site != "" {
		// The generic handler hands a theme's page to its engine: later
		// checks go to the engine directly.
		f.Site = listing.Chapters[0].Site
	}
	if f.Title == "" {
		f.Title = u.String()
	}
	if f.Deliver == "" {
		f.Deliver = "announce"
	}
	p.see(&f, listing.Chapters)
	f.NextCheck = p.next(&f, nil)
	f, err = p.o.Store.PutFollow(f)
	if err != nil {
		return f, err
	}
	p.poke()
	return f, nil
}

// Followable checks, without a request, that link is a series link of a
// site that can list chapters.
func (p *Poller) Followable(link string) error {
	_, _, _, err := p.lister(link)
	return err
}

func (p *Poller) lister(link string) (*url.URL, string, sites.Lister, error) {
	u, err := sites.ParseURL(strings.TrimSpace(link))
	if err != nil {
		return nil, "", nil, err
	}
	name, h, err := p.o.Env.Sites.Match(u)
	if err != nil {
		return nil, "", nil, err
	}
	l, ok := h.(sites.Lister)
	if !ok {
		return nil, "", nil, fmt.Errorf("%s cannot list a series' chapters, so it cannot be followed", name)
	}
	return u, name, l, nil
}

// Remove deletes a follow; a check of it under way is cancelled and posts
// nothing.
func (p *Poller) Remove(id string) error {
	p.mu.Lock()
	if cancel := p.checking[id]; cancel != nil {
		cancel()
	}
	p.mu.Unlock()
	return p.o.Store.DeleteFollow(id)
}

// see marks chapters seen in f and moves its cursor and last chapter.
func (p *Poller) see(f *store.Follow, chs []*sites.Chapter) {
	for _, c := range chs {
		f.See(c.Key())
		if c.Number != "" {
			f.See("#" + c.Number)
		}
		if c.Published.After(f.Since) {
			f.Since = c.Published
		}
		f.Last, f.LastURL = pipeline.ChapterTitle(c), c.SourceURL
	}
}

// next is when f is checked again after a check that ended with err.
func (p *Poller) next(f *store.Follow, err error) time.Time {
	iv := p.o.Config.IntervalOf(f.Site)
	if err != nil && f.Failures > 0 {
		// Back off: the interval doubles per failure (429 included), up
		// to max_backoff.
		for i := 1; i < f.Failures && iv < p.o.Config.MaxBackoff.Duration; i++ {
			iv *= 2
		}
		iv = min(iv, p.o.Config.MaxBackoff.Duration)
	}
	if j := p.o.Config.Jitter.Duration; j > 0 {
		iv += time.Duration(rand.Int64N(int64(j)))
	}
	return p.o.Now().Add(iv)
}

// wanted reports whether chapter c is for follow f: not seen, and of one
// of its groups when it names some.
func wanted(f *store.Follow, c *sites.Chapter) bool {
	if f.HasSeen(c.Key()) || (c.Number != "" && f.HasSeen("#"+c.Number)) {
		return false
	}
	if len(f.Groups) == 0 {
		return true
	}
	for _, g := range f.Groups {
		for _, cr := range c.Credits {
			if strings.EqualFold(strings.TrimSpace(g), cr) {
				return true
			}
		}
	}
	return false
}

// Check lists follow id's series once, records its new chapters as
// pending and delivers every pending chapter of it. It returns the
// chapters delivered.
func (p *Poller) Check(ctx context.Context, id string) ([]store.Found, error) {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.checking[id] = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.checking, id)
		p.mu.Unlock()
		cancel()
	}()

	f, ok, err := p.o.Store.GetFollow(id)
	if err != nil || !ok {
		return nil, err
	}
	if f.Paused != "" {
		return nil, nil
	}
	listing, lerr := p.list(ctx, &f)
	if ctx.Err() != nil {
		return nil, ctx.Err() // removed (or shutting down): record nothing
	}
	p.observe(func(o Observer) { o.Checked(f.Site, lerr) })
	recorded, err := p.o.Store.UpdateFollow(id, func(cur *store.Follow) ([]store.Found, error) {
		if lerr != nil {
			cur.Failures++
			cur.LastError = lerr.Error()
			cur.NextCheck = p.next(cur, lerr)
			return nil, nil
		}
		cur.Failures, cur.LastError = 0, ""
		if listing.Series != "" {
			cur.Title = listing.Series
		}
		var found []store.Found
		for _, c := range listing.Chapters {
			if wanted(cur, c) {
				found = append(found, foundOf(c))
			}
			p.see(cur, []*sites.Chapter{c}) // a second upload of it in this listing is not new
		}
		cur.NextCheck = p.next(cur, nil)
		return found, nil
	})
	if errors.Is(err, store.ErrNoFollow) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(recorded) > 0 {
		p.observe(func(o Observer) { o.Found(f.Site, len(recorded)) })
	}
	if lerr != nil {
		p.o.Log.Warn("follow check failed", "follow", id, "site", f.Site, "url", f.URL, "err", lerr)
		return nil, lerr
	}
	return p.deliverPending(ctx, id)
}

func (p *Poller) list(ctx context.Context, f *store.Follow) (*sites.Listing, error) {
	u, err := sites.ParseURL(f.URL)
	if err != nil {
		return nil, err
	}
	h, ok := p.o.Env.Sites.Get(f.Site)
	l, isLister := h.(sites.Lister)
	if !ok || !isLister {
		return nil, fmt.Errorf("site %s cannot list series (disabled?)", f.Site)
	}
	listing, err := l.List(ctx, p.o.Env.SiteEnv, sites.ListRequest{URL: u, Language: f.Language, Since: f.Since})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Site, pipeline.Friendly(err))
	}
	for _, c := range listing.Chapters {
		if c.Site == "" {
			c.Site = f.Site
		}
		if c.Series == "" {
			c.Series = cmp.Or(listing.Series, f.Title) // later rounds may not tell the name
		}
	}
	return listing, nil
}

func foundOf(c *sites.Chapter) store.Found {
	fd := store.Found{Key: c.Key(), URL: c.SourceURL, Series: c.Series, Number: c.Number, Volume: c.Volume, Title: c.Title, Language: c.Language}
	if len(c.Credits) > 0 {
		fd.Group = c.Credits[0]
	}
	return fd
}

// deliverPending delivers follow id's pending chapters in the order they
// were found; it stops at the first failure (they stay pending).
func (p *Poller) deliverPending(ctx context.Context, id string) ([]store.Found, error) {
	pending, err := p.o.Store.FoundOf(id, true)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	f, ok, err := p.o.Store.GetFollow(id)
	if err != nil || !ok || f.Paused != "" {
		return nil, err
	}
	if p.o.Hook != nil {
		p.o.Hook("pending")
	}
	var done []store.Found
	for _, c := range pending {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		msg, err := p.o.Deliver.Deliver(ctx, f, c)
		p.observe(func(o Observer) { o.Delivered(f.Site, err) })
		if errors.Is(err, ErrGone) {
			p.pause(f, err.Error())
			return done, err
		}
		if err != nil {
			p.o.Log.Warn("follow delivery failed; retried at the next check", "follow", id, "chapter", c.Key, "err", err)
			return done, err
		}
		if p.o.Hook != nil {
			p.o.Hook("delivered")
		}
		if err := p.o.Store.MarkDelivered(c, msg); err != nil && !errors.Is(err, store.ErrNoFollow) {
			return done, err
		}
		done = append(done, c)
	}
	return done, nil
}

// pause stops checking f and says why (logs, metrics, /manga following).
func (p *Poller) pause(f store.Follow, reason string) {
	p.o.Log.Warn("follow paused", "follow", f.ID, "guild", f.Guild, "channel", f.Channel, "url", f.URL, "reason", reason)
	p.observe(func(o Observer) { o.Paused(f.Site, reason) })
	p.o.Store.UpdateFollow(f.ID, func(cur *store.Follow) ([]store.Found, error) {
		cur.Paused = reason
		return nil, nil
	})
}

// Pause pauses every follow that keep selects (a deleted channel, a left
// guild) and returns how many.
func (p *Poller) Pause(keep func(*store.Follow) bool, reason string) (int, error) {
	fs, err := p.o.Store.Follows(func(f *store.Follow) bool { return f.Paused == "" && keep(f) })
	for _, f := range fs {
		p.pause(f, reason)
	}
	return len(fs), err
}

func (p *Poller) observe(f func(Observer)) {
	if p.o.Observe != nil {
		f(p.o.Observe)
	}
}

func (p *Poller) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Round checks the follows Keep selects, at most Checks at once: all of
// them when all is set, else those due. It returns the chapters
// delivered, in order of follow.
func (p *Poller) Round(ctx context.Context, all bool) ([]store.Found, error) {
	start := p.o.Now()
	fs, err := p.o.Store.Follows(func(f *store.Follow) bool {
		return f.Paused == "" && (p.o.Keep == nil || p.o.Keep(f)) && (all || !f.NextCheck.After(start))
	})
	if err != nil {
		return nil, err
	}
	fs = byHostInTurn(fs)
	results := make([][]store.Found, len(fs))
	errs := make([]error, len(fs))
	sem := make(chan struct{}, p.o.Config.Checks)
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = p.Check(ctx, f.ID)
		}()
	}
	wg.Wait()
	if len(fs) > 0 {
		p.observe(func(o Observer) { o.Round(len(fs), p.o.Now().Sub(start)) })
	}
	var out []store.Found
	for _, r := range results {
		out = append(out, r...)
	}
	return out, errors.Join(errs...)
}

// byHostInTurn orders follows one host after the other (a, b, c, a, b,
// c, ...), so the checks running at once are of different hosts: each
// host's limiter paces only its own checks while the others proceed.
func byHostInTurn(fs []store.Follow) []store.Follow {
	var hosts []string
	by := map[string][]store.Follow{}
	for _, f := range fs {
		h := f.URL
		if u, err := url.Parse(f.URL); err == nil {
			h = u.Hostname()
		}
		if by[h] == nil {
			hosts = append(hosts, h)
		}
		by[h] = append(by[h], f)
	}
	out := make([]store.Follow, 0, len(fs))
	for len(out) < len(fs) {
		for _, h := range hosts {
			if q := by[h]; len(q) > 0 {
				out = append(out, q[0])
				by[h] = q[1:]
			}
		}
	}
	return out
}

// Resume delivers the chapters left pending by an earlier process, for
// the follows Keep selects.
func (p *Poller) Resume(ctx context.Context) error {
	fs, err := p.o.Store.Follows(func(f *store.Follow) bool { return f.Paused == "" && (p.o.Keep == nil || p.o.Keep(f)) })
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fs {
		if _, err := p.deliverPending(ctx, f.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run delivers what was left pending, then checks due follows until ctx
// ends, waking at the earliest next check (or when a follow is added).
func (p *Poller) Run(ctx context.Context) {
	// Delivered records only serve Download buttons; old ones go.
	if _, err := p.o.Store.PruneFound(p.o.Now().Add(-keepDelivered)); err != nil {
		p.o.Log.Warn("pruning delivered follow chapters", "err", err)
	}
	if err := p.Resume(ctx); err != nil {
		p.o.Log.Warn("delivering pending follow chapters", "err", err)
	}
	for {
		if _, err := p.Round(ctx, false); err != nil && ctx.Err() == nil {
			p.o.Log.Debug("follow round had errors", "err", err)
		}
		wait := p.untilNext()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-p.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// untilNext is the time to the earliest next check (at most a minute, so
// changes made by another writer of the store are seen).
func (p *Poller) untilNext() time.Duration {
	wait := time.Minute
	fs, err := p.o.Store.Follows(func(f *store.Follow) bool { return f.Paused == "" && (p.o.Keep == nil || p.o.Keep(f)) })
	if err != nil {
		return wait
	}
	now := p.o.Now()
	for _, f := range fs {
		wait = min(wait, f.NextCheck.Sub(now))
	}
	return max(wait, 50*time.Millisecond)
}
