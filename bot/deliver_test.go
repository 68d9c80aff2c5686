package bot

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A requester with a smaller attachment limit joins a running job built
// for a larger one: they get parts that fit, rebuilt from the kept pages.
func TestSharedSmallerLimitGetsParts(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 160, true)
	u := site.URL + "/chapter/lim?n=6"
	t1 := h.download("u1", u, 10<<20)
	h.jobID(t1)
	site.release(1)
	h.waitFor("running", h.originalHas(t1, "1 done"))
	const small = 120 << 10
	t2 := h.download("u2", u, small)
	h.waitFor("shared", h.originalHas(t2, "already in progress"))
	site.release(5)
	h.waitAttachment(t1)
	parts := h.waitParts(t2)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	pages := partPages(t, parts, small)
	if pages != 6 {
		t.Fatalf("parts hold %d pages", pages)
	}
	if n := site.imgReqs.Load(); n != 6 {
		t.Fatalf("%d image requests, want 6 (no refetch)", n)
	}
	h.waitFor("clean", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
}

// A result too big for one attachment comes in parts that each fit, and
// together hold every page: parts under the server's attachment limit, or
// under [output] max_file_bytes even when the server's limit would take
// the whole file.
func TestPartsFitTheLimit(t *testing.T) {
	for _, c := range []struct {
		name      string
		fakeLimit int64 // what the fake Discord accepts; 0: its default
		limit     int64 // what the interaction announces
		operator  int64 // [output] max_file_bytes; 0: none
		part      int64 // the largest part allowed
	}{
		{name: "server limit", fakeLimit: 120 << 10, limit: 120 << 10, part: 120 << 10},
		{name: "operator cap", limit: 10 << 20, operator: 120 << 10, part: 120 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, nil)
			if c.fakeLimit > 0 {
				h.fd.SetAttachmentLimit(c.fakeLimit)
			}
			h.bot.env.PDF.MaxFileBytes = c.operator // as config's [output] max_file_bytes
			site := newSite(t, 160, false)
			tok := h.download("u1", site.URL+"/chapter/big?n=6", c.limit)
			h.waitFor("done", h.originalHas(tok, "Done"))
			fs := h.waitParts(tok)
			if len(fs) < 2 {
				t.Fatalf("want parts, got %d followups", len(fs))
			}
			if pages := partPages(t, fs, c.part); pages != 6 {
				t.Fatalf("parts hold %d pages, want 6", pages)
			}
		})
	}
}

// A result that needs more parts than MaxParts (no links) is refused
// clearly, as a failure.
func TestTooManyPartsRefused(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxParts = 1 })
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/many?n=6", 120<<10)
	h.waitFor("refusal", h.originalHas(tok, "too large to attach"))
	s := statusText(h.fd.Original(tok))
	if !strings.Contains(s, "Failed") || strings.Contains(s, "Done") {
		t.Fatalf("status: %s", s)
	}
	h.waitIdle()
	if n := len(h.fd.Followups(tok)); n != 0 {
		t.Fatalf("%d followups", n)
	}
}

// Discord refuses (413) a file below the announced limit: the bot rebuilds
// it in smaller parts.
func Test413FallsBackToParts(t *testing.T) {
	h := start(t, nil)
	const real = 100 << 10
	h.fd.SetAttachmentLimit(real)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/413?n=8", 10<<20)
	h.waitParts(tok)
	var saw413 bool
	for _, r := range h.patches(tok) {
		saw413 = saw413 || r.Status == 413
	}
	if !saw413 {
		t.Fatal("no 413 seen; the test does not test the fallback")
	}
	pages := partPages(t, h.fd.Followups(tok), real)
	if pages != 8 {
		t.Fatalf("pages %d", pages)
	}
	// The parts were built from the kept pages: no page fetched twice.
	if n := site.imgReqs.Load(); n != 8 {
		t.Fatalf("%d image requests for 8 pages", n)
	}
	h.waitFor("clean", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
}

// Discord refuses the file (413) below the announced limit, parts cannot
// help (more than MaxParts would be needed) and links are configured: the
// file goes out as a link.
func Test413FallsBackToLink(t *testing.T) {
	addr := freeAddr(t)
	h := start(t, func(c *Config) {
		c.Listen = addr
		c.PublicURL = "http://" + addr
		c.MaxParts = 1
	})
	h.fd.SetAttachmentLimit(30 << 10)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/l413?n=3", 10<<20)
	h.waitFor("link", h.originalHas(tok, "/dl/"))
	var saw413 bool
	for _, r := range h.patches(tok) {
		saw413 = saw413 || r.Status == 413
	}
	if !saw413 {
		t.Fatal("no 413 seen")
	}
	if s := statusText(h.fd.Original(tok)); strings.Contains(s, "Failed") {
		t.Fatalf("status: %s", s)
	}
}

func TestTooBigLink(t *testing.T) {
	addr := freeAddr(t)
	h := start(t, func(c *Config) {
		c.Listen = addr
		c.PublicURL = "http://" + addr
		c.LinkSecret = "s3cret"
		c.LinkTTL = time.Hour
		c.MaxParts = 1 // more parts than allowed: a link
	})
	const limit = 30 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/link?n=3", limit)
	h.waitFor("link", h.originalHas(tok, "/dl/"))
	m := regexp.MustCompile(`\((http://[^)\s]+/dl/[^)\s]+)\)`).FindStringSubmatch(statusText(h.fd.Original(tok)))
	if m == nil {
		t.Fatalf("no link in %s", statusText(h.fd.Original(tok)))
	}
	link := m[1]
	get := func(u string, hdr ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", u, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get(link)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || len(body) <= limit {
		t.Fatalf("link: %d %v len %d", resp.StatusCode, resp.Header, len(body))
	}
	if n := checkPDF(t, body); n != 3 {
		t.Fatalf("linked pdf has %d pages", n)
	}
	if resp, part := get(link, "Range", "bytes=0-99"); resp.StatusCode != 206 || len(part) != 100 || string(part) != string(body[:100]) {
		t.Fatalf("range: %d len %d", resp.StatusCode, len(part))
	}
	// A tampered signature, another file under the same signature, and
	// (below) an expired link all get the same 404: nothing is revealed.
	u, _ := url.Parse(link)
	q := u.Query()
	sig := q.Get("s")
	q.Set("s", strings.Repeat("0", len(sig)))
	u.RawQuery = q.Encode()
	resp, tampered := get(u.String())
	if resp.StatusCode != 404 {
		t.Fatalf("tampered signature: %d", resp.StatusCode)
	}
	u2, _ := url.Parse(link)
	u2.Path = u2.Path[:strings.LastIndex(u2.Path, "/")] + "/other.pdf"
	if resp, b := get(u2.String()); resp.StatusCode != 404 || string(b) != string(tampered) {
		t.Fatalf("renamed file: %d %q", resp.StatusCode, b)
	}
	for _, p := range []string{"/dl/", "/dl/../../etc/passwd", "/", "/dl/" + strings.Repeat("a", 32) + "/..%2f..%2fetc%2fpasswd"} {
		if resp, _ := get("http://" + addr + p); resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	h.bot.local.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if resp, b := get(link); resp.StatusCode != 404 || string(b) != string(tampered) {
		t.Fatalf("expired link: %d %q, tampered: %q", resp.StatusCode, b, tampered)
	}
}

// With links configured, a result that fits in MaxParts parts is attached
// in parts, not linked; unless the request asks for a link (fit:link).
func TestLinksConfiguredStillSendsParts(t *testing.T) {
	for _, fit := range []string{"", "link"} {
		t.Run("fit="+fit, func(t *testing.T) {
			addr := freeAddr(t)
			h := start(t, func(c *Config) {
				c.Listen = addr
				c.PublicURL = "http://" + addr
			})
			const limit = 30 << 10
			h.fd.SetAttachmentLimit(limit)
			site := newSite(t, 160, false)
			tok := h.command("download", dl{user: "u1", limit: limit, opts: map[string]string{"url": site.URL + "/chapter/lp?n=3", "fit": fit}})
			if fit == "link" {
				h.waitFor("link", h.originalHas(tok, "/dl/"))
				h.waitIdle()
				if fs := h.fd.Followups(tok); len(fs) != 0 {
					t.Errorf("%d parts sent besides the link", len(fs))
				}
				return
			}
			parts := h.waitParts(tok)
			if len(parts) < 2 {
				t.Fatalf("%d parts", len(parts))
			}
			h.waitIdle()
			if s := statusText(h.fd.Original(tok)); strings.Contains(s, "/dl/") || !strings.Contains(s, "Done") {
				t.Fatalf("status: %s", s)
			}
		})
	}
}

func TestExpiredTokenDeliversThroughChannel(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 100, true)
	tok := h.download("u1", site.URL+"/chapter/late?n=4", 0)
	site.release(2)
	h.waitFor("progress", h.originalHas(tok, "2 done"))
	h.fd.ExpireToken(tok)
	site.release(2)
	h.waitFor("channel delivery", func() bool {
		for _, m := range h.fd.ChannelMessages() {
			if len(m.Attachments) == 1 {
				return true
			}
		}
		return false
	})
	var got bool
	for _, m := range h.fd.ChannelMessages() {
		if len(m.Attachments) == 1 {
			got = true
			if !strings.Contains(m.Content, "<@u1>") || m.ChannelID != "c1" {
				t.Fatalf("channel message: %+v", m)
			}
			if n := checkPDF(t, m.Attachments[0].Data()); n != 4 {
				t.Fatalf("pages %d", n)
			}
		}
	}
	if !got {
		t.Fatal("no delivery")
	}
	// The status message itself was finished with the bot token.
	var botEdit bool
	for _, r := range h.fd.Requests() {
		if r.Method == "PATCH" && strings.HasPrefix(r.Path, "/channels/c1/messages/") && strings.HasPrefix(r.Auth, "Bot ") && r.Status == 200 {
			botEdit = true
		}
	}
	if !botEdit {
		t.Fatal("status not edited through the bot token")
	}
}

func TestTinyTokenTTL(t *testing.T) {
	h := start(t, func(c *Config) { c.TokenTTL = time.Nanosecond })
	site := newSite(t, 100, false)
	tok := h.download("u1", site.URL+"/chapter/ttl?n=2", 0)
	h.waitFor("channel delivery", func() bool {
		for _, m := range h.fd.ChannelMessages() {
			if len(m.Attachments) == 1 {
				return true
			}
		}
		return false
	})
	for _, r := range h.patches(tok) {
		if len(r.Files) > 0 {
			t.Fatal("upload through an expired interaction token")
		}
	}
}

// An upload that could outlive the interaction token goes through the bot
// token, though the token still works for status edits.
func TestUploadOutlivingTokenUsesChannel(t *testing.T) {
	h := start(t, func(c *Config) { c.TokenTTL = time.Minute; c.UploadTimeout = 2 * time.Minute })
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/long?n=2", 0)
	h.waitFor("channel delivery", func() bool {
		for _, m := range h.fd.ChannelMessages() {
			if len(m.Attachments) == 1 {
				return true
			}
		}
		return false
	})
	h.waitIdle()
	edits := 0
	for _, r := range h.patches(tok) {
		if len(r.Files) > 0 {
			t.Fatal("upload through an interaction token that may die during it")
		}
		if r.Status == 200 {
			edits++
		}
	}
	if edits == 0 {
		t.Fatal("status not edited through the (live) interaction token")
	}
	if s := statusText(h.fd.Original(tok)); !strings.Contains(s, "Done") {
		t.Fatalf("status: %s", s)
	}
}

// fit:shrink makes one attachment under the limit where parts would be
// needed, and says so on the status message; the pages are all there.
func TestShrinkFitsOneAttachment(t *testing.T) {
	const limit = 100 << 10 // the chapter is about 123 KiB
	h := start(t, nil)
	h.fd.SetAttachmentLimit(limit)
	// The test site's pages are per-pixel noise, the hardest case for
	// JPEG: as config's [output] fit_min_ssim, allow what they reach.
	h.bot.env.Fit.Shrink.MinSSIM = 0.7
	site := newSite(t, 160, false)
	tok := h.command("download", dl{user: "u1", limit: limit, opts: map[string]string{"url": site.URL + "/chapter/big?n=6", "fit": "shrink"}})
	h.waitFor("done", h.originalHas(tok, "Done"))
	h.waitAttachment(tok)
	m := h.fd.Original(tok)
	if len(m.Attachments) != 1 || m.Attachments[0].Size > limit {
		t.Fatalf("want one attachment under %d bytes: %+v", limit, m.Attachments)
	}
	if n := checkPDF(t, m.Attachments[0].Data()); n != 6 {
		t.Fatalf("%d pages, want 6", n)
	}
	s := statusText(m)
	if !regexp.MustCompile(`📉 fitted [\d.]+ KiB → [\d.]+ KiB, quality \d+`).MatchString(s) {
		t.Errorf("no fitted line in the status:\n%s", s)
	}
	if len(h.fd.Followups(tok)) != 0 {
		t.Errorf("parts sent besides the file")
	}
}

// When even the floors cannot fit (here: the similarity floor), the
// result comes in parts and the status says why in one line.
func TestShrinkGivesWayToParts(t *testing.T) {
	const limit = 120 << 10
	h := start(t, nil)
	h.fd.SetAttachmentLimit(limit)
	h.bot.env.Fit.Shrink.MinSSIM = 0.9999 // as config's [output] fit_min_ssim
	site := newSite(t, 160, false)
	tok := h.command("download", dl{user: "u1", limit: limit, opts: map[string]string{"url": site.URL + "/chapter/big?n=6", "fit": "shrink"}})
	h.waitFor("done", h.originalHas(tok, "Done"))
	if pages := partPages(t, h.waitParts(tok), limit); pages != 6 {
		t.Fatalf("parts hold %d pages", pages)
	}
	s := statusText(h.fd.Original(tok))
	if !regexp.MustCompile(`✂️ .*: cannot shrink to [\d.]+ KiB: .*differs too much.*; splitting into parts instead`).MatchString(s) {
		t.Errorf("no fallback line in the status:\n%s", s)
	}
}
