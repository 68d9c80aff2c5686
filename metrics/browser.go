package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mangabot/mangabot/browser"
)

// browserMetrics are the headless browser's collectors.
type browserMetrics struct {
	renders *prometheus.CounterVec // result: started, failed
	seconds prometheus.Histogram
	tabs    prometheus.Gauge
}

func newBrowserMetrics(reg *prometheus.Registry) *browserMetrics {
	b := &browserMetrics{
		renders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mangabot_browser_renders_total",
			Help: "Pages rendered in the headless browser: started, and failed (errors and timeouts; a render cancelled by its job is not a failure).",
		}, []string{"event"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mangabot_browser_render_seconds",
			Help: "Time of one render, from the wait for a tab to the page settled (or failed).",
			// 250 ms to 2 min.
			Buckets: []float64{.25, .5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 120},
		}),
		tabs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mangabot_browser_tabs_in_use",
			Help: "Browser tabs rendering now (at most [browser] max_tabs).",
		}),
	}
	reg.MustRegister(b.renders, b.seconds, b.tabs)
	b.renders.WithLabelValues("started")
	b.renders.WithLabelValues("failed")
	return b
}

// BrowserObserver returns the browser's Observer (browser.Options.Observer).
func (m *Metrics) BrowserObserver() browser.Observer {
	if m == nil {
		return nil // an untyped nil, which the browser replaces by its own
	}
	return m.browser
}

func (b *browserMetrics) RenderStarted() { b.renders.WithLabelValues("started").Inc() }

func (b *browserMetrics) RenderFinished(err error, d time.Duration) {
	if err != nil && !errors.Is(err, context.Canceled) {
		b.renders.WithLabelValues("failed").Inc()
	}
	b.seconds.Observe(d.Seconds())
}

func (b *browserMetrics) TabsInUse(n int) { b.tabs.Set(float64(n)) }
