package metrics

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/pipeline"
)

// Job states, as the bot reports them.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Metrics holds a registry and mangabot's collectors. Make one per process
// with New; all methods are safe for concurrent use, and a nil *Metrics
// ignores every call (so the bot can run without metrics).
type Metrics struct {
	reg *prometheus.Registry

	jobs      *prometheus.GaugeVec   // state: queued, running
	finished  *prometheus.CounterVec // state: done, failed, cancelled
	queue     prometheus.GaugeFunc
	pages     *prometheus.CounterVec // result: ok, failed
	bytes     prometheus.Counter
	requests  *prometheus.CounterVec // code: 1xx..5xx, error
	retries   prometheus.Counter
	throttled *prometheus.CounterVec // host
	hostConc  *prometheus.GaugeVec   // host
	hostRate  *prometheus.GaugeVec   // host
	pageSec   prometheus.Histogram
	pdfSec    prometheus.Histogram
	fitSim    prometheus.Histogram
	fits      *prometheus.CounterVec // result: shrunk, parts
	gateway   prometheus.GaugeFunc
	browser   *browserMetrics

	queueLen  atomic.Int64
	queueFn   atomic.Pointer[func() int]
	connected atomic.Bool
	gatewayFn atomic.Pointer[func() bool]

	clusterJobs    atomic.Pointer[prometheus.CounterVec] // see Cluster
	clusterGateway atomic.Pointer[prometheus.CounterVec] // see Cluster

	mu    sync.Mutex
	state map[string]string // unfinished job id -> queued | running

	followsOnce sync.Once
	follows     *Follows
	followCount atomic.Pointer[func() (active, paused int)]
}

// New makes a Metrics with its own registry, holding mangabot's
// collectors plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), state: map[string]string{}}
	m.jobs = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mangabot_jobs",
		Help: "Unfinished jobs by state (queued, running).",
	}, []string{"state"})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_jobs_finished_total",
		Help: "Jobs finished, by final state (done, failed, cancelled).",
	}, []string{"state"})
	m.queue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mangabot_queue_length",
		Help: "Jobs waiting for a free slot.",
	}, func() float64 {
		if f := m.queueFn.Load(); f != nil {
			return float64((*f)())
		}
		return float64(m.queueLen.Load())
	})
	m.pages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_pages_total",
		Help: "Pages fetched, by final result (ok, failed); pages resumed from disk are not counted.",
	}, []string{"result"})
	m.bytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mangabot_bytes_total",
		Help: "Image bytes fetched and written (pages that succeeded).",
	})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_http_requests_total",
		Help: "HTTP attempts of pages and site API calls, by status class (2xx, 4xx, ...) or error (network error, incl. a page body cut short).",
	}, []string{"code"})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mangabot_retries_total",
		Help: "Requests sent again after a failed attempt (network error, 5xx, 429, body cut short).",
	})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_http_429_total",
		Help: "HTTP 429 Too Many Requests responses, by host.",
	}, []string{"host"})
	m.hostConc = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mangabot_host_concurrency",
		Help: "Requests the fetcher lets be in flight to a host now (adaptive: halved on 429, 5xx and errors, raised while latency is stable).",
	}, []string{"host"})
	m.hostRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mangabot_host_rate",
		Help: "Requests per second the fetcher grants a host now (below its configured rate after a 429, recovering once it stops).",
	}, []string{"host"})
	m.pageSec = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "mangabot_page_seconds",
		Help: "Time to fetch one page, from its first request to its end: host limits, attempts, retry delays and the body.",
		// 10 ms to 60 s.
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
	})
	m.pdfSec = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "mangabot_pdf_build_seconds",
		Help:    "Time to write one output file (or one set of parts): PDF, CBZ or EPUB.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	m.fitSim = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "mangabot_fit_similarity",
		Help: "Similarity (SSIM of a phone-width grey render, 1 = identical) of each shrunk file's re-encoded pages to the originals.",
		// Where the quality floors are set: fit_min_ssim defaults to 0.9.
		Buckets: []float64{.8, .85, .9, .92, .94, .96, .98, .99, .995, 1},
	})
	m.fits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_fit_total",
		Help: "Files over the size limit with fit shrink, by result: shrunk (one file fits) or parts (even the floors could not fit).",
	}, []string{"result"})
	m.gateway = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mangabot_gateway_connected",
		Help: "1 while the Discord gateway connection is up, else 0.",
	}, func() float64 {
		if m.GatewayConnected() {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(m.jobs, m.finished, m.queue, m.pages, m.bytes, m.requests,
		m.retries, m.throttled, m.hostConc, m.hostRate, m.pageSec, m.pdfSec, m.fitSim, m.fits, m.gateway,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start, so that rate() and alerts see
	// zeros rather than nothing.
	for _, s := range []string{StateQueued, StateRunning} {
		m.jobs.WithLabelValues(s)
	}
	for _, s := range []string{StateDone, StateFailed, StateCancelled} {
		m.finished.WithLabelValues(s)
	}
	m.fits.WithLabelValues("shrunk")
	m.fits.WithLabelValues("parts")
	m.pages.WithLabelValues("ok")
	m.pages.WithLabelValues("failed")
	m.browser = newBrowserMetrics(m.reg)
	return m
}

// Registry is the registry behind Handler, for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats
// (mount it at /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// JobQueued records a new job, waiting in the queue. id is the bot's job
// id; calls for one id after JobFinished are ignored.
func (m *Metrics) JobQueued(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.state[id]; ok {
		return
	}
	m.state[id] = StateQueued
	m.jobs.WithLabelValues(StateQueued).Inc()
}

// JobStarted moves a job from queued to running. A job never queued is
// counted as running from now on.
func (m *Metrics) JobStarted(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state[id] {
	case StateRunning:
		return
	case StateQueued:
		m.jobs.WithLabelValues(StateQueued).Dec()
	}
	m.state[id] = StateRunning
	m.jobs.WithLabelValues(StateRunning).Inc()
}

// JobFinished ends a job with state done, failed or cancelled (anything
// else counts as failed): it leaves the queued or running gauge it was in
// and is counted finished. Call it once per job; a job never queued or
// started (a cache hit answered at once) is counted finished only.
func (m *Metrics) JobFinished(id, state string) {
	if m == nil {
		return
	}
	switch state {
	case StateDone, StateFailed, StateCancelled:
	default:
		state = StateFailed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if was, ok := m.state[id]; ok {
		delete(m.state, id)
		m.jobs.WithLabelValues(was).Dec()
	}
	m.finished.WithLabelValues(state).Inc()
}

// JobPaused takes a job out of the queued or running gauge without
// counting it finished: shutdown paused it and the next start resumes it
// (and counts it queued again there).
func (m *Metrics) JobPaused(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if was, ok := m.state[id]; ok {
		delete(m.state, id)
		m.jobs.WithLabelValues(was).Dec()
	}
}

// SetQueueLength sets the number of jobs waiting for a slot. Unused once
// QueueLengthFunc is set.
func (m *Metrics) SetQueueLength(n int) {
	if m == nil {
		return
	}
	m.queueLen.Store(int64(n))
}

// QueueLengthFunc makes mangabot_queue_length read f at each scrape
// instead of the last SetQueueLength. f must be quick and safe to call
// from any goroutine (it may take a lock of the bot's).
func (m *Metrics) QueueLengthFunc(f func() int) {
	if m == nil || f == nil {
		return
	}
	m.queueFn.Store(&f)
}

// SetGatewayConnected records the state of the Discord gateway. Unused
// once GatewayFunc is set.
func (m *Metrics) SetGatewayConnected(up bool) {
	if m == nil {
		return
	}
	m.connected.Store(up)
}

// GatewayFunc makes the gateway state (mangabot_gateway_connected and
// GatewayConnected, hence Health) come from f, called at each scrape or
// health check.
func (m *Metrics) GatewayFunc(f func() bool) {
	if m == nil || f == nil {
		return
	}
	m.gatewayFn.Store(&f)
}

// GatewayConnected reports the gateway state: from GatewayFunc when set,
// else the last SetGatewayConnected (false before any). Pass it to Health.
func (m *Metrics) GatewayConnected() bool {
	if m == nil {
		return false
	}
	if f := m.gatewayFn.Load(); f != nil {
		return (*f)()
	}
	return m.connected.Load()
}

// Observer returns the fetcher's Observer (download.Options.Observer).
func (m *Metrics) Observer() download.Observer {
	if m == nil {
		return nil // an untyped nil, which the fetcher skips
	}
	return fetchObserver{m}
}

// Observe is the pipeline's stage hook (pipeline.Env.Observe).
func (m *Metrics) Observe(stage string, d time.Duration) {
	if m == nil {
		return
	}
	switch stage {
	case "pdf", "cbz", "epub": // the writers
		m.pdfSec.Observe(d.Seconds())
	}
}

// ObserveFit is the pipeline's fit hook (pipeline.Env.ObserveFit): r is
// a shrunk file's result, nil when shrinking gave way to parts.
func (m *Metrics) ObserveFit(r *fit.Result) {
	if m == nil {
		return
	}
	if r == nil {
		m.fits.WithLabelValues("parts").Inc()
		return
	}
	m.fits.WithLabelValues("shrunk").Inc()
	if r.Converted > 0 {
		m.fitSim.Observe(r.SSIM)
	}
}

// PipelineOptions are the hooks for pipeline.New.
func (m *Metrics) PipelineOptions() pipeline.Options {
	if m == nil {
		return pipeline.Options{}
	}
	return pipeline.Options{Observer: m.Observer(), Observe: m.Observe, ObserveFit: m.ObserveFit, BrowserObserver: m.BrowserObserver()}
}

// fetchObserver turns the fetcher's events into samples.
type fetchObserver struct{ m *Metrics }

func (o fetchObserver) Request(host string, status int, err error, _ time.Duration, retry bool) {
	m := o.m
	m.requests.WithLabelValues(codeClass(status, err)).Inc()
	if status == http.StatusTooManyRequests {
		m.throttled.WithLabelValues(strings.ToLower(host)).Inc()
	}
	if retry {
		m.retries.Inc()
	}
}

// HostLimit makes fetchObserver a download.HostObserver.
func (o fetchObserver) HostLimit(host string, concurrency int, rate float64) {
	o.m.hostConc.WithLabelValues(strings.ToLower(host)).Set(float64(concurrency))
	o.m.hostRate.WithLabelValues(strings.ToLower(host)).Set(rate)
}

func (o fetchObserver) Page(ok bool, bytes int64, d time.Duration) {
	m := o.m
	if ok {
		m.pages.WithLabelValues("ok").Inc()
		m.bytes.Add(float64(bytes))
	} else {
		m.pages.WithLabelValues("failed").Inc()
	}
	m.pageSec.Observe(d.Seconds())
}

func codeClass(status int, err error) string {
	if err != nil || status < 100 || status > 599 {
		return "error"
	}
	return string(rune('0'+status/100)) + "xx"
}

// Health serves the gateway state for /healthz: 200 {"gateway":"connected"}
// or 503 {"gateway":"disconnected"}. connected is called per request.
func Health(connected func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if connected != nil && connected() {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"gateway":"connected"}` + "\n"))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"gateway":"disconnected"}` + "\n"))
	})
}
