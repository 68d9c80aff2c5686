package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/metrics"
)

func TestRegisterAndDownload(t *testing.T) {
	h := start(t, nil)
	for _, g := range []string{"g1", "g2"} {
		var cmds []struct {
			Name    string
			Options []struct{ Name string }
		}
		if err := json.Unmarshal(h.fd.Commands(g), &cmds); err != nil || len(cmds) != 1 || cmds[0].Name != "manga" || len(cmds[0].Options) != 6 { // download, sites, jobs, follow, unfollow, following
			t.Fatalf("guild %s commands: %v %s", g, err, h.fd.Commands(g))
		}
	}
	// Global commands are cleared (to []) right after the guilds' are set,
	// so either may be seen here; never a command.
	if g := h.fd.Commands("global"); g != nil && string(g) != "[]" {
		t.Fatalf("commands registered globally although guilds are configured: %s", g)
	}

	site := newSite(t, 200, true)
	tok := h.download("u1", site.URL+"/chapter/1?n=6", 0)
	cb := h.waitCallback(tok)
	if cb["type"].(float64) != 4 {
		t.Fatalf("first response: %v", cb)
	}
	// Let half the pages through and see the status follow.
	site.release(3)
	h.waitFor("progress edit at 3 pages", h.originalHas(tok, "3 done"))
	if !strings.Contains(statusText(h.fd.Original(tok)), "Test Manga") {
		t.Fatalf("status lacks title: %s", statusText(h.fd.Original(tok)))
	}
	site.release(3)
	h.waitFor("attachment", func() bool {
		m := h.fd.Original(tok)
		return m != nil && len(m.Attachments) == 1
	})
	m := h.fd.Original(tok)
	if !strings.Contains(statusText(m), "Done") || len(m.Components) != 0 {
		t.Fatalf("final status: %s components %d", statusText(m), len(m.Components))
	}
	if n := checkPDF(t, m.Attachments[0].Data()); n != 6 {
		t.Fatalf("pdf has %d pages, want 6", n)
	}
	if n := len(h.patches(tok)); n < 2 {
		t.Fatalf("want several edits, got %d", n)
	}
	h.waitFor("job removed", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
}

func TestShutdownMidJob(t *testing.T) {
	h := start(t, func(c *Config) { c.ShutdownGrace = 300 * time.Millisecond })
	site := newSite(t, 100, true)
	tok := h.download("u1", site.URL+"/chapter/sd?n=5", 0)
	site.release(1)
	h.waitFor("running", h.originalHas(tok, "1 done"))
	h.cancel()
	// The notice first (its own words: the final text says "shutting
	// down" too), then the final state.
	h.waitFor("shutdown notice", h.originalHas(tok, "may be cancelled if it does not finish in time"))
	h.waitFor("cancelled on shutdown", h.originalHas(tok, "Cancelled: the bot is shutting down"))
	h.stop() // Run returns
	if f := filesIn(t, h.cfg.OutputDir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
}

// CancelOnShutdown ends running jobs at once: with a grace far beyond the
// test's wait for Run, only an immediate cancel lets Run return in time.
func TestCancelOnShutdown(t *testing.T) {
	h := start(t, func(c *Config) { c.CancelOnShutdown = true; c.ShutdownGrace = 10 * time.Minute })
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/sd?n=3", 0)
	site.release(1)
	h.waitFor("running", h.originalHas(tok, "1 done"))
	h.cancel()
	h.waitFor("cancelled", h.originalHas(tok, "Cancelled: the bot is shutting down"))
	select {
	case err := <-h.errc:
		h.errc <- err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if strings.Contains(statusText(h.fd.Original(tok)), "may be cancelled") {
		t.Fatal("notice shown though jobs are cancelled at once")
	}
}

// The metrics listener serves /metrics and /healthz; the public listener
// (links) serves neither. IDENTIFY asks for no intents.
func TestMetricsAndHealth(t *testing.T) {
	m := metrics.New()
	addr, pub := freeAddr(t), freeAddr(t)
	h := start(t, func(c *Config) {
		c.MetricsListen = addr
		c.Listen = pub
		c.PublicURL = "http://" + pub
		c.Metrics = m
	})
	for _, p := range []string{"/metrics", "/healthz"} {
		if c, _ := httpGet(t, "http://"+pub+p); c != 404 {
			t.Errorf("public listener serves %s: %d", p, c)
		}
	}
	ids := h.fd.Identifies()
	if len(ids) == 0 || ids[0].Intents != 1 /* IntentsGuilds: GUILD_DELETE pauses follows */ || ids[0].Token != "Bot test-token" {
		t.Fatalf("identify: %+v", ids)
	}
	base := "http://" + addr
	h.waitFor("healthy", func() bool { c, _ := httpGet(t, base+"/healthz"); return c == 200 })
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/m?n=3", 0))
	h.waitIdle()
	var body string
	h.waitFor("metrics", func() bool {
		_, body = httpGet(t, base+"/metrics")
		return strings.Contains(body, `mangabot_jobs_finished_total{state="done"} 1`)
	})
	for _, want := range []string{`mangabot_pages_total{result="ok"} 3`, `mangabot_queue_length 0`, `mangabot_gateway_connected 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	h.fd.DropGateway(true)
	h.waitFor("unhealthy", func() bool { c, _ := httpGet(t, base+"/healthz"); return c == 503 })
	h.fd.AllowGateway()
}
