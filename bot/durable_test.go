package bot

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func (h *harness) waitAttachment(tok string) {
	h.t.Helper()
	h.waitFor("attachment", func() bool {
		m := h.fd.Original(tok)
		return m != nil && len(m.Attachments) > 0
	})
}

func (h *harness) waitIdle() {
	h.t.Helper()
	h.waitFor("no jobs", func() bool {
		h.bot.mu.Lock()
		defer h.bot.mu.Unlock()
		return len(h.bot.jobs) == 0
	})
}

// refused checks that tok got an ephemeral answer containing want.
func (h *harness) refused(tok, want string) {
	h.t.Helper()
	cb := h.waitCallback(tok)
	if flags(cb)&64 == 0 || !strings.Contains(content(cb), want) {
		h.t.Fatalf("want an ephemeral refusal with %q, got %v", want, cb)
	}
}

func TestCooldownRefuses(t *testing.T) {
	h := start(t, func(c *Config) { c.Cooldown = time.Hour })
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/a?n=2", 0))
	n := site.imgReqs.Load()

	h.refused(h.download("u1", site.URL+"/chapter/b?n=2", 0), "cooldown")
	if site.imgReqs.Load() != n {
		t.Fatal("a refused request fetched pages")
	}
	// Others are not held back.
	tok := h.download("u2", site.URL+"/chapter/c?n=2", 0)
	if cb := h.waitCallback(tok); flags(cb)&64 != 0 {
		t.Fatalf("u2 refused: %v", cb)
	}
	h.waitAttachment(tok)
}

func TestDailyPagesQuota(t *testing.T) {
	h := start(t, func(c *Config) {
		c.DailyPages = 5
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
	})
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/a?n=3", 0))
	h.waitIdle()
	n := site.imgReqs.Load()
	h.refused(h.download("u1", site.URL+"/chapter/b?n=3", 0), "You have used 3 of 5 pages today; try again after 00:00 UTC")
	if site.imgReqs.Load() != n {
		t.Fatal("a refused request fetched pages")
	}
	// What still fits goes through, then nothing more.
	h.waitAttachment(h.download("u1", site.URL+"/chapter/c?n=2", 0))
	h.refused(h.download("u1", site.URL+"/chapter/d?n=1", 0), "You have used 5 of 5 pages today")
	// Another user has their own count.
	h.waitAttachment(h.download("u2", site.URL+"/chapter/b?n=3", 0))
	if got, err := h.bot.st.PagesOn("u1", time.Now().UTC().Format(time.DateOnly)); err != nil || got != 5 {
		t.Fatalf("stored count of u1: %d %v", got, err)
	}
}

func TestRepeatServedFromCache(t *testing.T) {
	h := start(t, func(c *Config) { c.CacheKeep = time.Hour })
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/r?n=3", 0)
	h.waitAttachment(tok)
	h.waitIdle()
	n := site.imgReqs.Load()
	tok2 := h.download("u2", site.URL+"/chapter/r?n=3", 0)
	h.waitAttachment(tok2)
	if site.imgReqs.Load() != n {
		t.Fatalf("the repeat made %d page requests", site.imgReqs.Load()-n)
	}
	if !strings.Contains(statusText(h.fd.Original(tok2)), "from cache") {
		t.Fatalf("not marked as cached: %s", statusText(h.fd.Original(tok2)))
	}
	if !bytes.Equal(h.fd.Original(tok).Attachments[0].Data(), h.fd.Original(tok2).Attachments[0].Data()) {
		t.Fatal("cached file differs")
	}
	// Another upload limit the cached file fits: the same entry.
	h.waitIdle()
	size := int64(len(h.fd.Original(tok).Attachments[0].Data()))
	tok3 := h.download("u3", site.URL+"/chapter/r?n=3", 2*size+(1<<20))
	h.waitAttachment(tok3)
	if site.imgReqs.Load() != n || !strings.Contains(statusText(h.fd.Original(tok3)), "from cache") {
		t.Fatalf("a limit the cached file fits missed the cache (%d page requests)", site.imgReqs.Load()-n)
	}
	// A limit it does not fit: made again in parts that fit (a cache
	// entry has no pages to split; without links they are fetched).
	h.waitIdle()
	limit := size*3/4 + 4<<10 // a budget of 3/4 of the file
	tok4 := h.download("u4", site.URL+"/chapter/r?n=3", limit)
	parts := h.waitParts(tok4)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if int64(p.Attachments[0].Size) > limit {
			t.Fatalf("part of %d bytes over the limit %d", p.Attachments[0].Size, limit)
		}
	}
}

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A whole job logged at debug level (Discord request URLs included) with
// a link delivery: no token, no link signature, and job ids on job lines.
func TestLogsHoldNoSecrets(t *testing.T) {
	var sink logSink
	logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	addr := freeAddr(t)
	h := startLogged(t, func(c *Config) {
		c.Listen = addr
		c.PublicURL = "http://" + addr
		c.LinkSecret = "link-secret-key"
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.MaxParts = 1
	}, logger)
	const limit = 30 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/logged?n=3", limit)
	id := h.jobID(tok)
	h.waitFor("link", h.originalHas(tok, "/dl/"))
	h.waitIdle()
	m := regexp.MustCompile(`\((http://[^)\s]+/dl/[^)\s]+)\)`).FindStringSubmatch(statusText(h.fd.Original(tok)))
	if m == nil {
		t.Fatal("no link")
	}
	u, _ := url.Parse(m[1])
	sig := u.Query().Get("s")
	if len(sig) < 32 {
		t.Fatalf("no signature in %s", m[1])
	}
	logs := sink.String()
	for _, secret := range []string{"test-token", tok, sig, "link-secret-key"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	var published, requests, jobLines int
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		switch {
		case msg == "link published":
			published++
			if !strings.Contains(rec["url"].(string), "s=[redacted]") {
				t.Errorf("link logged as %v", rec["url"])
			}
		case msg == "discord request" && strings.Contains(rec["url"].(string), "/webhooks/"):
			requests++
		}
		if strings.HasPrefix(msg, "job ") {
			jobLines++
			if rec["job"] != id {
				t.Errorf("job line without the job id: %s", line)
			}
		}
	}
	if published == 0 || requests == 0 || jobLines < 3 {
		t.Fatalf("expected lines missing (published %d, webhook requests %d, job lines %d):\n%s", published, requests, jobLines, logs)
	}
}
