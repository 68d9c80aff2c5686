package bot

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/pipeline"
)

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

// During shutdown a download is refused; the running job still finishes.
func TestDownloadRefusedDuringShutdown(t *testing.T) {
	h := start(t, func(c *Config) { c.ShutdownGrace = 10 * time.Minute })
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/sd?n=2", 0)
	h.jobID(tok)
	h.waitFor("running", func() bool { return site.imgReqs.Load() >= 1 })
	h.cancel()
	h.waitFor("shutdown notice", h.originalHas(tok, "may be cancelled if it does not finish in time"))
	h.refused(h.download("u2", site.URL+"/chapter/new?n=1", 0), "shutting down")
	site.release(2)
	h.waitAttachment(tok)
	if n := site.imgReqs.Load(); n != 2 {
		t.Fatalf("%d image requests", n)
	}
}

// Links resolve slower than ResolveWait: the response is deferred (public).
// Errors after that (a bad link, the daily quota) delete it and go to the
// user alone in an ephemeral followup.
func TestDeferredErrorsAreEphemeral(t *testing.T) {
	h := start(t, func(c *Config) { c.ResolveWait = 20 * time.Millisecond; c.DailyPages = 2 })
	site := newHeldSite(t, 60)
	cases := []struct{ url, want string }{
		{site.URL + "/missing", "❌"},
		{site.URL + "/chapter/q?n=3", "2 pages today"},
	}
	var toks []string
	for _, c := range cases {
		tok := h.download("u1", c.url, 0)
		if cb := h.waitCallback(tok); cb["type"].(float64) != 5 {
			t.Fatalf("%s: not deferred: %v", c.url, cb)
		}
		toks = append(toks, tok)
	}
	close(site.hold)
	for i, c := range cases {
		tok := toks[i]
		h.waitFor("ephemeral followup", func() bool { return len(h.fd.Followups(tok)) > 0 })
		f := h.fd.Followups(tok)[0]
		if f.Flags&64 == 0 || !strings.HasPrefix(f.Content, "❌") || !strings.Contains(f.Content, c.want) {
			t.Errorf("%s: followup %+v", c.url, f)
		}
		if m := h.fd.Original(tok); m != nil {
			t.Errorf("%s: public response left: %q", c.url, statusText(m))
		}
	}
	h.bot.mu.Lock()
	n := len(h.bot.jobs)
	h.bot.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d jobs", n)
	}
}

// The initial response fails for good (500s): the user sees nothing, so no
// job may go on.
func TestFailedResponseDropsJob(t *testing.T) {
	h := start(t, nil)
	h.fd.Inject(fakediscord.Fault{Method: "POST", PathContains: "/callback", Count: 1000, Status: 500, Body: `{"message":"boom","code":0}`})
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/lost?n=3", 0)
	h.waitFor("refused callback", func() bool { _, ok := h.callback(tok); return ok })
	h.waitIdle()
	for _, r := range h.fd.Requests() {
		if strings.Contains(r.Path, tok) && r.Method != "POST" {
			t.Fatalf("a dropped job touched Discord: %s %s", r.Method, r.Path)
		}
	}
	if n := len(h.fd.ChannelMessages()); n != 0 {
		t.Fatalf("%d channel messages", n)
	}
}

// A watcher that joined a job whose status response then failed
// (abandon) while the job ended: the job still ends (no wait on a status
// loop that never started).
func TestAbandonRacingTheEnd(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 60, true)
	url := site.URL + "/chapter/race?n=2"
	tok := h.download("u1", url, 0)
	h.jobID(tok)
	b := h.bot
	b.mu.Lock()
	j := b.byKey[pipeline.Request{URL: url}.Key()]
	b.mu.Unlock()
	if j == nil {
		t.Fatal("no job")
	}
	// As attach does for a second requester, up to its failed response:
	// enqueued (joined), status made, never started.
	w := &watcher{userID: "u2", i: j.watchers[0].i, at: time.Now(), limit: 10 << 20}
	w.st = b.newStatus(w, func() view { return j.view("") })
	if _, shared, err := b.enqueue(j.plan, j.key, w); err != nil || !shared {
		t.Fatalf("join: %v %v", shared, err)
	}
	site.release(2)
	h.waitAttachment(tok)
	h.waitIdle()
	b.abandon(j, w)
}

// Many requesters of one small chapter at once, around its end: each gets
// the file (joined, or a job of their own), none is lost.
func TestJoinsAroundTheEnd(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxQueuedPerGuild = -1; c.MaxJobs = 4 })
	site := newSite(t, 40, false)
	u := site.URL + "/chapter/stress?n=1"
	var toks []string
	for i := range 16 {
		toks = append(toks, h.download(fmt.Sprintf("s%d", i), u, 0))
	}
	for _, tok := range toks {
		h.waitAttachment(tok)
	}
}

// A request that joins a job as it ends is a watcher before its status
// response is out: delivery to it waits for that response (an upload to
// @original before it is answered 404, and the response after it would
// show a stale view without the file).
func TestJoinerRespondingAfterTheEnd(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 40, true)
	u := site.URL + "/chapter/late?n=1"
	tok1 := h.download("u1", u, 0)
	jobID := h.jobID(tok1)
	blocked, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.fd.OnRequest(func(r fakediscord.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/callback") && strings.Contains(string(r.Body), "already in progress") {
			once.Do(func() {
				close(blocked)
				<-proceed
			})
		}
	})
	t.Cleanup(func() { h.fd.OnRequest(nil) })
	tok2 := h.download("u2", u, 0)
	select {
	case <-blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the joined request's status response never went out")
	}
	// The job ends while the joiner's response is held.
	site.release(1)
	h.waitFor("job done", func() bool {
		h.bot.mu.Lock()
		j := h.bot.jobs[jobID]
		h.bot.mu.Unlock()
		if j == nil {
			return true
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.state == stateDone
	})
	// Give a delivery that does not wait the time to try @original.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	h.fd.WaitRequest(ctx, 0, func(r fakediscord.Request) bool {
		return r.Method == "PATCH" && strings.Contains(r.Path, "/"+tok2+"/messages/@original")
	})
	cancel()
	close(proceed)
	h.waitAttachment(tok1)
	h.waitIdle()
	if m := h.fd.Original(tok2); m == nil || len(m.Attachments) == 0 {
		t.Fatalf("the late joiner got no file: %s", statusText(m))
	}
}

// /manga download format:cbz delivers a .cbz attachment and the status
// says CBZ; the same chapter as PDF is made anew (a cached CBZ is not a
// PDF), and CBZ again comes from the cache.
func TestDownloadFormatCBZ(t *testing.T) {
	h := start(t, func(c *Config) { c.CacheKeep = time.Hour })
	site := newSite(t, 80, false)
	url := site.URL + "/chapter/f?n=4"
	tok := h.downloadAs("u1", url, "cbz", 0)
	h.waitAttachment(tok)
	m := h.fd.Original(tok)
	a := m.Attachments[0]
	if !strings.HasSuffix(a.Filename, ".cbz") || !strings.Contains(statusText(m), "CBZ") {
		t.Fatalf("attachment %s, status %s", a.Filename, statusText(m))
	}
	if n := checkCBZ(t, site, "f", 1, attachmentFile(t, a)); n != 4 {
		t.Fatalf("%d pages", n)
	}
	h.waitIdle()
	n := site.imgReqs.Load()

	tok2 := h.downloadAs("u2", url, "pdf", 0)
	h.waitAttachment(tok2)
	m2 := h.fd.Original(tok2)
	if !strings.HasSuffix(m2.Attachments[0].Filename, ".pdf") || strings.Contains(statusText(m2), "from cache") || site.imgReqs.Load() == n {
		t.Fatalf("PDF after CBZ: %s, %s, %d page requests", m2.Attachments[0].Filename, statusText(m2), site.imgReqs.Load()-n)
	}
	if pages := checkPDF(t, m2.Attachments[0].Data()); pages != 4 {
		t.Fatalf("PDF of %d pages", pages)
	}
	h.waitIdle()
	n = site.imgReqs.Load()
	tok3 := h.downloadAs("u3", url, "cbz", 0)
	h.waitAttachment(tok3)
	m3 := h.fd.Original(tok3)
	if !strings.Contains(statusText(m3), "from cache") || site.imgReqs.Load() != n || !bytes.Equal(m3.Attachments[0].Data(), a.Data()) {
		t.Fatalf("CBZ again: %s, %d page requests", statusText(m3), site.imgReqs.Load()-n)
	}
}

// Too big for the upload limit, an EPUB comes in parts that each pass
// epubcheck and hold the pages in order.
func TestDownloadFormatEPUBParts(t *testing.T) {
	h := start(t, nil)
	const limit = 120 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.downloadAs("u1", site.URL+"/chapter/e?n=6", "epub", limit)
	h.waitFor("done", h.originalHas(tok, "Done"))
	fs := h.waitParts(tok)
	if len(fs) < 2 {
		t.Fatalf("want parts, got %d followups", len(fs))
	}
	page := 1
	for i, f := range fs {
		if len(f.Attachments) != 1 || f.Attachments[0].Size > limit || !strings.HasSuffix(f.Attachments[0].Filename, ".epub") || !strings.Contains(f.Content, "(EPUB)") {
			t.Fatalf("bad part: %s %+v", f.Content, f.Attachments)
		}
		p := attachmentFile(t, f.Attachments[0])
		if i == 0 {
			testtool.Epubcheck(t, p) // seconds a run: the first part stands for all
		}
		_, files := testtool.ReadZip(t, p)
		for k := 1; ; k++ {
			img, ok := files[fmt.Sprintf("OEBPS/images/%03d.jpg", k)]
			if !ok {
				break
			}
			if !bytes.Equal(img, site.jpeg(fmt.Sprintf("/img/e/%d.jpg", page))) {
				t.Errorf("part %d image %d is not page %d", i+1, k, page)
			}
			page++
		}
	}
	if page != 7 {
		t.Fatalf("parts hold %d pages, want 6", page-1)
	}
}

// fit:link on a server without links is refused at once, with what to
// choose instead.
func TestFitLinkWithoutLinksRefused(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 40, false)
	tok := h.command("download", dl{user: "u1", opts: map[string]string{"url": site.URL + "/chapter/x?n=1", "fit": "link"}})
	h.refused(tok, "no download links set up; use fit: shrink or parts")
	if n := site.imgReqs.Load(); n != 0 {
		t.Errorf("%d image requests for a refused request", n)
	}
}

// strip:true stitches the chapter's images and cuts them into pages of
// the strip page ratio: six 160×240 images at ratio 3 (about 480 rows a
// page) make about three pages instead of six.
func TestStripOption(t *testing.T) {
	h := start(t, nil)
	h.bot.env.Fit.StripOptions.PageRatio = 3 // as config's [output] strip_page_ratio
	site := newSite(t, 160, false)
	tok := h.command("download", dl{user: "u1", opts: map[string]string{"url": site.URL + "/chapter/s?n=6"}, flags: map[string]bool{"strip": true}})
	h.waitFor("done", h.originalHas(tok, "Done"))
	h.waitAttachment(tok)
	m := h.fd.Original(tok)
	if n := checkPDF(t, m.Attachments[0].Data()); n < 2 || n > 4 {
		t.Errorf("%d pages from a 1,440-row strip cut about every 480 rows", n)
	}
}
