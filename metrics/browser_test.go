package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/mangabot/mangabot/browser"
	"github.com/mangabot/mangabot/metrics"
)

// Renders of a real browser: one that works, one refused by the address
// guard, one cancelled by its caller (not a failure).
func TestBrowserMetrics(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium missing (CI)")
		}
		t.Skip("chromium not installed")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><p>a page`))
	}))
	defer srv.Close()
	m := metrics.New()
	r := browser.New(browser.Options{AllowNetworks: loopback()[:1], Observer: m.BrowserObserver()})
	defer r.Close()
	if _, err := r.Resolve(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(t.Context(), "http://[::1]/"); err == nil {
		t.Fatal("a page on ::1 rendered, outside allow_networks")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Resolve(ctx, srv.URL); err == nil {
		t.Fatal("a cancelled render succeeded")
	}
	fams := scrape(t, m)
	for _, c := range []struct {
		event string
		want  float64
	}{{"started", 3}, {"failed", 1}} {
		if got := value(fams, "mangabot_browser_renders_total", "event", c.event); got != c.want {
			t.Errorf("renders %s = %v, want %v", c.event, got, c.want)
		}
	}
	if h, ok := sample(fams, "mangabot_browser_render_seconds"); !ok || h.Histogram.GetSampleCount() != 3 {
		t.Errorf("render seconds: %v", h)
	}
	if got := value(fams, "mangabot_browser_tabs_in_use"); got != 0 {
		t.Errorf("tabs in use after the renders: %v", got)
	}
}
