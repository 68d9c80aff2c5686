package bot

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func flags(cb map[string]any) int {
	d, _ := cb["data"].(map[string]any)
	f, _ := d["flags"].(float64)
	return int(f)
}

func content(cb map[string]any) string {
	d, _ := cb["data"].(map[string]any)
	s, _ := d["content"].(string)
	return s
}

func TestCancelPermissions(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 100, true)
	tok := h.download("u1", site.URL+"/chapter/c?n=8", 0)
	id := h.jobID(tok)
	site.release(1)
	h.waitFor("running", h.originalHas(tok, "1 done"))
	h.waitFor("blocked image requests", func() bool { return site.imgReqs.Load() >= 2 })

	// A stranger is refused and the job goes on.
	st := h.click("u2", 0, "cancel:"+id)
	cb := h.waitCallback(st)
	if flags(cb)&64 == 0 || !strings.Contains(content(cb), "Only") {
		t.Fatalf("stranger's cancel: %v", cb)
	}
	site.release(1)
	h.waitFor("job goes on", h.originalHas(tok, "2 done"))

	// The requester cancels.
	rt := h.click("u1", 0, "cancel:"+id)
	if cb := h.waitCallback(rt); cb["type"].(float64) != 6 {
		t.Fatalf("requester's cancel response: %v", cb)
	}
	// The click is acknowledged: from now on (in-flight requests are held
	// at the gate, so the count is stable) the site gets nothing new.
	n := site.imgReqs.Load()
	h.waitFor("cancelled status", h.originalHas(tok, "Cancelled by <@u1>"))
	h.waitFor("in-flight requests aborted", func() bool { return site.aborted.Load() >= 1 })
	if m := h.fd.Original(tok); len(m.Components) != 0 {
		t.Fatal("cancel button still there")
	}
	h.waitFor("job gone", func() bool {
		h.bot.mu.Lock()
		defer h.bot.mu.Unlock()
		return len(h.bot.jobs) == 0
	})
	// A full round trip through the bot; no new image request meanwhile.
	jt := h.command("jobs", dl{user: "u1"})
	if cb := h.waitCallback(jt); !strings.Contains(content(cb), "no jobs") {
		t.Fatalf("jobs after cancel: %v", cb)
	}
	if site.imgReqs.Load() != n {
		t.Fatal("the site got requests after the cancel")
	}
	if f := filesIn(t, h.cfg.OutputDir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}

	// A moderator (Manage Messages) may cancel someone else's job.
	tok2 := h.download("u3", site.URL+"/chapter/d?n=3", 0)
	id2 := h.jobID(tok2)
	mt := h.click("mod", discordgo.PermissionManageMessages, "cancel:"+id2)
	if cb := h.waitCallback(mt); cb["type"].(float64) != 6 {
		t.Fatalf("moderator's cancel: %v", cb)
	}
	h.waitFor("cancelled by mod", h.originalHas(tok2, "Cancelled by <@mod>"))
}

func TestTooBigSplitsIntoParts(t *testing.T) {
	h := start(t, nil)
	const limit = 120 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/big?n=6", limit)
	h.waitFor("done", h.originalHas(tok, "Done"))
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs))
	})
	fs := h.fd.Followups(tok)
	if len(fs) < 2 {
		t.Fatalf("want parts, got %d followups", len(fs))
	}
	pages := 0
	for _, f := range fs {
		if len(f.Attachments) != 1 || f.Attachments[0].Size > limit {
			t.Fatalf("bad part: %+v", f.Attachments)
		}
		pages += checkPDF(t, f.Attachments[0].Data())
	}
	if pages != 6 {
		t.Fatalf("parts hold %d pages, want 6", pages)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
	h.bot.links.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if resp, b := get(link); resp.StatusCode != 404 || string(b) != string(tampered) {
		t.Fatalf("expired link: %d %q, tampered: %q", resp.StatusCode, b, tampered)
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

func TestRateLimitedEditsSurvive(t *testing.T) {
	h := start(t, nil)
	h.fd.RateLimit("PATCH", "/messages/@original", 3, 0.02)
	h.fd.Inject(fakeFault("PATCH", "/messages/@original", 1, 500))
	site := newSite(t, 100, false)
	tok := h.download("u1", site.URL+"/chapter/rl?n=3", 0)
	h.waitFor("attachment", func() bool {
		m := h.fd.Original(tok)
		return m != nil && len(m.Attachments) == 1
	})
	var n429, n500 int
	for _, r := range h.patches(tok) {
		switch r.Status {
		case 429:
			n429++
		case 500:
			n500++
		}
	}
	if n429 != 3 || n500 != 1 {
		t.Fatalf("faults seen: 429×%d 500×%d", n429, n500)
	}
	if n := checkPDF(t, h.fd.Original(tok).Attachments[0].Data()); n != 3 {
		t.Fatalf("pages %d", n)
	}
}

func TestBadInputNoJob(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 100, false)
	for _, u := range []string{"not a link", "ftp://example.com/x", site.URL + "/chapter/none?n=0&empty=1", site.URL + "/missing"} {
		tok := h.download("u1", u, 0)
		cb := h.waitCallback(tok)
		if cb["type"].(float64) != 4 || flags(cb)&64 == 0 || !strings.HasPrefix(content(cb), "❌") || strings.Contains(content(cb), "\n") {
			t.Fatalf("%q: %v", u, cb)
		}
	}
	// /manga sites: ephemeral list with patterns.
	st := h.command("sites", dl{user: "u1"})
	cb := h.waitCallback(st)
	if flags(cb)&64 == 0 || !strings.Contains(fmtJSON(cb), "generic") {
		t.Fatalf("sites: %v", cb)
	}
	h.bot.mu.Lock()
	n := len(h.bot.jobs)
	h.bot.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d jobs made from bad input", n)
	}
	for _, r := range h.fd.Requests() {
		if r.Method == "PATCH" {
			t.Fatalf("unexpected edit %s", r.Path)
		}
	}
}

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
	select {
	case err := <-h.errc:
		if err != nil {
			t.Fatal(err)
		}
		h.errc <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if f := filesIn(t, h.cfg.OutputDir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Discord refuses (413) a file below the announced limit: the bot rebuilds
// it in smaller parts.
func Test413FallsBackToParts(t *testing.T) {
	h := start(t, nil)
	const real = 100 << 10
	h.fd.SetAttachmentLimit(real)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/413?n=8", 10<<20)
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts after 413", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs)) && len(fs[len(fs)-1].Attachments) == 1
	})
	var saw413 bool
	for _, r := range h.patches(tok) {
		saw413 = saw413 || r.Status == 413
	}
	if !saw413 {
		t.Fatal("no 413 seen; the test does not test the fallback")
	}
	pages := 0
	for _, f := range h.fd.Followups(tok) {
		if len(f.Attachments) != 1 || f.Attachments[0].Size > real {
			t.Fatalf("bad part %+v", f.Attachments)
		}
		pages += checkPDF(t, f.Attachments[0].Data())
	}
	if pages != 8 {
		t.Fatalf("pages %d", pages)
	}
	// The parts were built from the kept pages: no page fetched twice.
	if n := site.imgReqs.Load(); n != 8 {
		t.Fatalf("%d image requests for 8 pages", n)
	}
	h.waitFor("clean", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
}

// [output] max_file_bytes caps the parts even when the server's upload
// limit would take the whole file.
func TestOperatorPartSizeCapsParts(t *testing.T) {
	h := start(t, nil)
	const part = 120 << 10
	h.bot.env.PDF.MaxFileBytes = part // as config's [output] max_file_bytes
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/capped?n=6", 10<<20)
	h.waitFor("done", h.originalHas(tok, "Done"))
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs))
	})
	fs := h.fd.Followups(tok)
	if len(fs) < 2 {
		t.Fatalf("want parts under the operator's size, got %d followups", len(fs))
	}
	pages := 0
	for _, f := range fs {
		if len(f.Attachments) != 1 || f.Attachments[0].Size > part {
			t.Fatalf("part over %d bytes: %+v", part, f.Attachments)
		}
		pages += checkPDF(t, f.Attachments[0].Data())
	}
	if pages != 6 {
		t.Fatalf("parts hold %d pages, want 6", pages)
	}
}
