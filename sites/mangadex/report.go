package mangadex

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// officialHost: images served by MangaDex itself (uploads.mangadex.org)
// are not reported; only @Home nodes are.
func officialHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "mangadex.org" || strings.HasSuffix(host, ".mangadex.org")
}

// enqueueReport queues a report without blocking: when the queue is full
// the report is dropped, so a slow report endpoint never slows downloads.
func (m *handler) enqueueReport(env sites.Env, r download.FetchReport) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || officialHost(u.Hostname()) {
		return
	}
	body, err := json.Marshal(struct {
		URL      string `json:"url"`
		Success  bool   `json:"success"`
		Cached   bool   `json:"cached"`
		Bytes    int64  `json:"bytes"`
		Duration int64  `json:"duration"`
	}{r.URL, r.Success, r.Cached, r.Bytes, r.Duration.Milliseconds()})
	if err != nil {
		return
	}
	client := env.Client
	if client == nil {
		return // no guarded client: no report (never http.DefaultClient)
	}
	m.addPending(1)
	select {
	case m.reports <- queuedReport{client: client, ua: env.UserAgent, body: body}:
	default:
		m.addPending(-1)
		return // full: drop
	}
	if m.reporting.CompareAndSwap(false, true) {
		go m.sendReports()
	}
}

// sendReports is the handler's one report worker; it exits when the queue
// is empty and enqueueReport starts it again.
func (m *handler) sendReports() {
	for {
		for drained := false; !drained; {
			select {
			case r := <-m.reports:
				m.postReport(r)
				m.addPending(-1)
			default:
				drained = true
			}
		}
		m.reporting.Store(false)
		// A report queued between the drain and the Store saw a running
		// worker and started none: take it.
		if len(m.reports) == 0 || !m.reporting.CompareAndSwap(false, true) {
			return
		}
	}
}

func (m *handler) addPending(d int) {
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	if m.pending == 0 && d > 0 {
		m.idle = make(chan struct{})
	}
	m.pending += d
	if m.pending == 0 {
		close(m.idle)
	}
}

// Drain waits until every queued MangaDex@Home report has been sent (or
// failed), or ctx ends; it returns how many were still unsent then. The
// CLI calls it before exiting and the bot at shutdown, with a bound of a
// few seconds: reports must not be lost to an exit, nor hold the user.
func (m *handler) Drain(ctx context.Context) (unsent int) {
	for {
		m.pendMu.Lock()
		n, idle := m.pending, m.idle
		m.pendMu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-idle:
		case <-ctx.Done():
			m.pendMu.Lock()
			defer m.pendMu.Unlock()
			return m.pending
		}
	}
}

func (m *handler) postReport(r queuedReport) {
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	env := sites.Env{Client: r.client, UserAgent: r.ua}
	// Reports are best effort: an error is dropped.
	sites.Do(ctx, env, sites.Req{URL: m.report, JSON: json.RawMessage(r.body), MaxBytes: 64 << 10})
}
