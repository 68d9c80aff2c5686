package bot

import (
	"strings"
	"testing"
)

func TestQueueLimitsAndSharing(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxJobs = 1; c.MaxQueuedPerUser = 1 })
	site := newSite(t, 100, true)
	url1 := site.URL + "/chapter/s?n=2"
	t1 := h.download("u1", url1, 0)
	h.jobID(t1)
	// Same user, another job: refused.
	t2 := h.download("u1", site.URL+"/chapter/other?n=2", 0)
	if cb := h.waitCallback(t2); flags(cb)&64 == 0 || !strings.Contains(content(cb), "limit") {
		t.Fatalf("limit: %v", cb)
	}
	// Another user, another job: queued behind.
	t3 := h.download("u3", site.URL+"/chapter/third?n=1", 0)
	h.waitFor("queue position", h.originalHas(t3, "position **1**"))
	// Another user, same request: shares the download.
	t4 := h.download("u2", url1, 0)
	h.waitFor("shared", h.originalHas(t4, "already in progress"))
	site.release(3)
	for _, tok := range []string{t1, t4, t3} {
		h.waitFor("attachment", func() bool {
			m := h.fd.Original(tok)
			return m != nil && len(m.Attachments) == 1
		})
	}
	if n := site.imgReqs.Load(); n != 3 {
		t.Fatalf("shared job fetched %d images, want 3", n)
	}
}

// The per-server limit refuses a job in a full server, not in another.
func TestPerGuildLimit(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxQueuedPerGuild = 1 })
	site := newSite(t, 60, true)
	h.jobID(h.downloadIn("g1", "u1", site.URL+"/chapter/a?n=1"))
	h.refused(h.downloadIn("g1", "u2", site.URL+"/chapter/b?n=1"), "this server")
	other := h.downloadIn("g2", "u3", site.URL+"/chapter/c?n=1")
	if cb := h.waitCallback(other); flags(cb)&64 != 0 {
		t.Fatalf("other server refused: %v", cb)
	}
	site.release(2)
	h.waitIdle()
}

// Two different requests for the same chapters (the same result: the
// generic site ignores the language) share one download.
func TestSameChaptersShareDownload(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 60, true)
	url := site.URL + "/chapter/same?n=2"
	tok1 := h.download("u1", url, 0)
	h.jobID(tok1)
	tok2 := h.command("download", dl{user: "u2", opts: map[string]string{"url": url, "language": "en"}})
	h.waitFor("joined", h.originalHas(tok2, "already in progress"))
	site.release(100)
	h.waitAttachment(tok1)
	h.waitAttachment(tok2)
	if n := site.imgReqs.Load(); n != 2 {
		t.Fatalf("%d image requests for 2 pages", n)
	}
}
