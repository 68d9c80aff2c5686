package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Follows counts what the follow poller does; it implements
// follow.Observer. Build it with (*Metrics).Follows (once per Metrics).
type Follows struct {
	rounds   prometheus.Counter
	roundSec prometheus.Histogram
	checks   *prometheus.CounterVec
	found    *prometheus.CounterVec
	delivery *prometheus.CounterVec
	paused   *prometheus.CounterVec
}

// Follows returns the follow collectors, registered at the first call;
// count reports the follows stored (active and paused); a later call's
// count replaces it (a bot restarted in one process). Nil on a nil
// Metrics.
func (m *Metrics) Follows(count func() (active, paused int)) *Follows {
	if m == nil {
		return nil
	}
	m.followCount.Store(&count)
	m.followsOnce.Do(func() { m.follows = m.newFollows() })
	return m.follows
}

func (m *Metrics) newFollows() *Follows {
	f := &Follows{
		rounds: prometheus.NewCounter(prometheus.CounterOpts{Name: "mangabot_follow_rounds_total", Help: "Polling rounds that checked at least one follow."}),
		roundSec: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mangabot_follow_round_seconds", Help: "Time of one polling round.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mangabot_follow_checks_total", Help: "Series checks by site and result (ok, error)."}, []string{"site", "result"}),
		found:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mangabot_follow_chapters_found_total", Help: "New chapters found by follows, by site."}, []string{"site"}),
		delivery: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mangabot_follow_deliveries_total",
			Help: "Deliveries of found chapters by site and result (ok, error)."}, []string{"site", "result"}),
		paused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mangabot_follow_paused_total", Help: "Follows paused (deleted channel, left server), by site."}, []string{"site"}),
	}
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mangabot_follows", Help: "Follows stored, by state (active, paused)."}, []string{"state"})
	m.reg.MustRegister(f.rounds, f.roundSec, f.checks, f.found, f.delivery, f.paused, collectFunc{gauge, func() {
		a, p := (*m.followCount.Load())()
		gauge.WithLabelValues("active").Set(float64(a))
		gauge.WithLabelValues("paused").Set(float64(p))
	}})
	return f
}

// collectFunc refreshes a vector just before it is collected.
type collectFunc struct {
	*prometheus.GaugeVec
	refresh func()
}

func (c collectFunc) Collect(ch chan<- prometheus.Metric) {
	c.refresh()
	c.GaugeVec.Collect(ch)
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Round, Checked, Found, Delivered and Paused implement follow.Observer.
func (f *Follows) Round(_ int, took time.Duration) {
	if f == nil {
		return
	}
	f.rounds.Inc()
	f.roundSec.Observe(took.Seconds())
}
func (f *Follows) Checked(site string, err error) {
	if f != nil {
		f.checks.WithLabelValues(site, result(err)).Inc()
	}
}
func (f *Follows) Found(site string, n int) {
	if f != nil {
		f.found.WithLabelValues(site).Add(float64(n))
	}
}
func (f *Follows) Delivered(site string, err error) {
	if f != nil {
		f.delivery.WithLabelValues(site, result(err)).Inc()
	}
}
func (f *Follows) Paused(site, _ string) {
	if f != nil {
		f.paused.WithLabelValues(site).Inc()
	}
}
