package bot

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

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
