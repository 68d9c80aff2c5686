package download

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// HostObserver is an optional extension of Observer: when the Observer
// implements it too, it is told a host's adaptive limits each time they
// change (metrics gauges). Same rules as Observer: concurrent, no blocking.
type HostObserver interface {
	HostLimit(host string, concurrency int, rate float64)
}

const (
	// cutGap: one congestion cut per gap, so the answers to the requests
	// already in flight when a host starts refusing count as one signal.
	cutGap = 500 * time.Millisecond
	// rateHold: the rate stays cut this long after the last 429 before it
	// starts to recover.
	rateHold = time.Second
	// raiseGap: the rate doubles per gap once the host answers again.
	raiseGap = 250 * time.Millisecond
	rateStep = 2
	// episodeGap: cuts closer than this belong to one congestion episode,
	// whose recovery aims at the window from before it.
	episodeGap = 5 * time.Second
	minRate    = 0.5 // requests/s: a 429 storm never stops a host entirely
)

// adaptive is a host's congestion control for page fetches, shared by every
// job. The number of page requests in flight to the host follows AIMD: it
// starts at the job window, halves on 429, 5xx and network errors (once per
// cutGap), and grows by one per window of answers while latency stays near
// its best, up to what the host's rate and burst allow in a second; after a
// congestion episode it first climbs back quickly (one per answer) to half
// the window that worked before. A 429 also halves the rate the host's
// token bucket grants (from the rate actually sent), which doubles per
// raiseGap once the host has stopped refusing for rateHold.
type adaptive struct {
	host string
	obs  HostObserver
	lim  *rate.Limiter

	mu       sync.Mutex
	limit    float64 // requests in flight allowed
	ceil     float64
	inflight int
	wake     chan struct{}
	lastCut  time.Time
	good     float64       // the window before the latest congestion episode
	srtt     time.Duration // smoothed time to the answer's headers
	best     time.Duration // lowest srtt seen, slowly forgotten

	full      rate.Limit // the configured rate and burst
	burst     int
	cur       rate.Limit // rate granted now (< full after a 429)
	last429   time.Time
	lastRaise time.Time

	// requests started in the current and the previous second
	bucket    time.Time
	now, prev int
}

func newAdaptive(host string, obs Observer, lim *rate.Limiter, window int) *adaptive {
	a := &adaptive{host: host, lim: lim, wake: make(chan struct{})}
	a.obs, _ = obs.(HostObserver)
	a.setLimits(lim.Limit(), lim.Burst(), window)
	return a
}

// setLimits takes a new configured rate and burst (SetHostLimits).
func (a *adaptive) setLimits(r rate.Limit, burst, window int) {
	a.mu.Lock()
	a.full, a.burst, a.cur = r, burst, r
	// Never more in flight than the bucket grants in a second.
	a.ceil = math.Max(1, math.Min(2*float64(window), float64(burst)+float64(r)))
	a.limit = math.Min(float64(window), a.ceil)
	a.lim.SetLimit(r)
	a.lim.SetBurst(burst)
	a.mu.Unlock()
	a.tell()
}

// acquire waits for a slot to the host.
func (a *adaptive) acquire(ctx context.Context) error {
	for {
		a.mu.Lock()
		if float64(a.inflight) < math.Max(1, math.Floor(a.limit)) {
			a.inflight++
			a.countLocked(time.Now())
			a.mu.Unlock()
			return nil
		}
		ch := a.wake
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *adaptive) release() {
	a.mu.Lock()
	a.inflight--
	close(a.wake)
	a.wake = make(chan struct{})
	a.mu.Unlock()
}

func (a *adaptive) countLocked(now time.Time) {
	switch el := now.Sub(a.bucket); {
	case el >= 2*time.Second:
		a.bucket, a.prev, a.now = now, 0, 0
	case el >= time.Second:
		a.bucket, a.prev, a.now = a.bucket.Add(time.Second), a.now, 0
	}
	a.now++
}

// sentRate is the request rate of about the last second.
func (a *adaptive) sentRateLocked(now time.Time) float64 {
	el := now.Sub(a.bucket).Seconds()
	if el >= 2 {
		return 0
	}
	if el >= 1 {
		return float64(a.now) / el
	}
	return float64(a.prev+a.now) / (1 + el)
}

// feedback takes the outcome of one attempt: its status (0 with err) and
// the time to its answer.
func (a *adaptive) feedback(ctx context.Context, status int, err error, d time.Duration) {
	if ctx.Err() != nil {
		return // our cancel says nothing of the host
	}
	now := time.Now()
	congested := status == http.StatusTooManyRequests ||
		(status >= 500 && status != http.StatusNotImplemented && status != http.StatusHTTPVersionNotSupported) ||
		(err != nil && retryable(ctx, nil, err) && !errors.Is(err, context.Canceled))
	a.mu.Lock()
	changed := false
	if congested {
		if now.Sub(a.lastCut) >= cutGap {
			if now.Sub(a.lastCut) >= episodeGap {
				a.good = a.limit // what worked before this episode
			}
			a.lastCut = now
			a.limit = math.Max(1, a.limit/2)
			changed = true
		}
		if status == http.StatusTooManyRequests {
			if now.Sub(a.last429) >= cutGap {
				// Half of what was really sent: a 1000/s bucket the job
				// never used would not slow anything down.
				r := rate.Limit(math.Max(minRate, math.Min(float64(a.cur), a.sentRateLocked(now))/2))
				a.cur = min(a.cur, r)
				a.lim.SetLimit(a.cur)
				a.lim.SetBurst(max(1, min(a.burst, int(a.cur))))
				changed = true
			}
			a.last429 = now
		}
	} else if err == nil {
		if a.srtt == 0 {
			a.srtt, a.best = d, d
		} else {
			a.srtt += (d - a.srtt) / 8
			// The best latency is forgotten slowly, so that a host that
			// became slower for good is not held at its old best forever.
			a.best += (a.srtt - a.best) / 64
			a.best = min(a.best, a.srtt)
		}
		if a.limit < a.ceil && now.Sub(a.lastCut) >= cutGap {
			before := int(a.limit)
			switch {
			case a.limit < a.good/2:
				// Slow start back to half the window that worked before
				// the host refused: one more per answer.
				a.limit = math.Min(a.good/2, a.limit+1)
			case a.srtt <= 2*a.best:
				a.limit = math.Min(a.ceil, a.limit+1/a.limit)
			}
			changed = int(a.limit) != before
		}
		from := a.lastRaise
		if hold := a.last429.Add(rateHold); hold.After(from) {
			from = hold
		}
		if steps := int(now.Sub(from) / raiseGap); a.cur < a.full && now.Sub(a.last429) >= rateHold && steps >= 1 {
			// Doubling per raiseGap since the last raise, however few
			// answers came meanwhile (at a low rate they are rare).
			a.lastRaise = now
			a.cur = rate.Limit(float64(a.cur)*math.Pow(rateStep, float64(min(steps, 4))) + 1)
			if a.cur >= a.full || float64(a.cur) > 4*a.sentRateLocked(now) {
				// The bucket no longer binds: back to the configured one.
				a.cur = a.full
				a.lim.SetBurst(a.burst)
			}
			a.lim.SetLimit(a.cur)
			changed = true
		}
	}
	a.mu.Unlock()
	if changed {
		a.tell()
	}
}

func (a *adaptive) tell() {
	if a.obs == nil {
		return
	}
	c, r := a.state()
	a.obs.HostLimit(a.host, c, r)
}

// state is the concurrency and rate granted now.
func (a *adaptive) state() (int, float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(math.Max(1, math.Floor(a.limit))), float64(a.cur)
}

// HostState is what the fetcher grants a host now: requests in flight and
// requests per second (both lower than configured after the host refused).
// ok is false for a host not contacted yet.
func (f *Fetcher) HostState(host string) (concurrency int, rate float64, ok bool) {
	f.mu.Lock()
	hs := f.hosts[host]
	f.mu.Unlock()
	if hs == nil {
		return 0, 0, false
	}
	c, r := hs.ad.state()
	return c, r, true
}
