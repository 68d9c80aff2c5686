package bot

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

// putRecords writes job records into the store at db (as a crashed bot
// left them).
func putRecords(t *testing.T, db string, recs ...store.Job) {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range recs {
		if _, err := st.Put(r); err != nil {
			t.Fatal(err)
		}
	}
}

// record reads a job record from the store at db (the bot must be gone).
func record(t *testing.T, db, id string) store.Job {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, ok, err := st.Get(id)
	if err != nil || !ok {
		t.Fatalf("record %s: %v %v", id, ok, err)
	}
	return r
}

// stop ends a harness's bot and waits for Run to return.
func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.errc:
		if err != nil {
			h.t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		h.t.Fatal("Run did not return")
	}
	h.errc <- nil
}

// deadRecord is a job record whose interaction token expired long ago.
func deadRecord(id, url string, st store.State) store.Job {
	return store.Job{ID: id, Request: store.Request{URL: url}, UserID: "u1", GuildID: "g1", ChannelID: "c1",
		AppID: "app", InteractionID: "i-" + id, InteractionToken: "tok-" + id,
		TokenExpires: time.Now().Add(-time.Hour), AttachmentLimit: 10 << 20, State: st, PagesTotal: 2}
}

// channelFiles are the channel messages carrying files, by file name.
func channelFiles(fd *fakediscord.Server) map[string]int {
	n := map[string]int{}
	for _, m := range fd.ChannelMessages() {
		for _, a := range m.Attachments {
			n[a.Filename]++
		}
	}
	return n
}

// A job resumed in the delivering state whose interaction token is gone
// is delivered once, through the channel, and ends done (its status loop
// never started: closing it must not wait for it).
func TestResumedDeliveringExpiredToken(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	site := newSite(t, 60, false)
	dir := store.JobDir(out, "dlv1") + ".out"
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, "kept.pdf")
	os.WriteFile(file, []byte("%PDF-1.4 kept"), 0o644)
	rec := deadRecord("dlv1", site.URL+"/chapter/kept?n=2", store.Delivering)
	rec.Files = []string{file}
	putRecords(t, db, rec)

	h := startOn(t, fd, func(c *Config) { c.OutputDir = out; c.StorePath = db }, nil, nil)
	h.waitFor("delivery", func() bool { return channelFiles(fd)["kept.pdf"] > 0 })
	h.waitIdle()
	h.stop()
	if n := channelFiles(fd)["kept.pdf"]; n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	if r := record(t, db, "dlv1"); r.State != store.Done {
		t.Fatalf("state %s", r.State)
	}
}

// A resumed job whose link no longer resolves fails (visibly) instead of
// hanging; the fallback status message is posted once, with its id learnt.
func TestResumedUnresolvableFails(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	site := newSite(t, 60, false)
	gone := site.URL + "/nothing-here"
	putRecords(t, db, deadRecord("gone1", gone, store.Queued))

	h := startOn(t, fd, func(c *Config) { c.OutputDir = out; c.StorePath = db }, nil, nil)
	h.waitFor("failure shown", func() bool {
		for _, m := range fd.ChannelMessages() {
			if strings.Contains(statusText(&m), "could not resume") {
				return true
			}
		}
		return false
	})
	h.waitIdle()
	h.stop()
	if r := record(t, db, "gone1"); r.State != store.Failed {
		t.Fatalf("state %s", r.State)
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

// A cancelled job is cancelled in the store before its final edit lands
// (which may retry for long): a crash meanwhile does not resurrect it.
func TestCancelPersistedBeforeFinalEdit(t *testing.T) {
	h := start(t, func(c *Config) {
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.RetryDelay = time.Hour // the final edit waits (until shutdown)
		c.ShutdownGrace = 100 * time.Millisecond
	})
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/cx?n=3", 0)
	id := h.jobID(tok)
	h.waitFor("running", func() bool { r, _, _ := h.bot.st.Get(id); return r.State == store.Running })
	h.fd.Inject(fakeFault("PATCH", "/messages/@original", 1000, 500))
	h.click("u1", 0, "cancel:"+id)
	h.waitFor("cancelled in the store", func() bool {
		r, _, _ := h.bot.st.Get(id)
		return r.State == store.Cancelled
	})
}

// A delivery that fails is recorded as failed, not done.
func TestFailedDeliveryPersistedFailed(t *testing.T) {
	h := start(t, func(c *Config) { c.StorePath = filepath.Join(t.TempDir(), "store.db") })
	h.fd.Inject(fakediscord.Fault{Method: "PATCH", PathContains: "/messages/@original", WithFiles: true,
		Count: 1000, Status: 400, Body: `{"message":"nope","code":50035}`})
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/fd?n=2", 0)
	id := h.jobID(tok)
	h.waitFor("failure shown", h.originalHas(tok, "Failed"))
	h.waitIdle()
	if r, _, _ := h.bot.st.Get(id); r.State != store.Failed {
		t.Fatalf("state %s", r.State)
	}
}

// Killed in the middle of a multi-part delivery: after the restart only
// the parts not yet sent are sent.
func TestResumedPartsNotSentTwice(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	site := newSite(t, 60, false)
	dir := store.JobDir(out, "parts1") + ".out"
	os.MkdirAll(dir, 0o755)
	var files []string
	for _, n := range []string{"p1.pdf", "p2.pdf", "p3.pdf"} {
		f := filepath.Join(dir, n)
		os.WriteFile(f, []byte("%PDF-1.4 "+n), 0o644)
		files = append(files, f)
	}
	rec := deadRecord("parts1", site.URL+"/chapter/parts?n=3", store.Delivering)
	rec.Files = files
	rec.Delivered = map[string]string{rec.InteractionID + "/p1.pdf": "123"}
	putRecords(t, db, rec)

	h := startOn(t, fd, func(c *Config) { c.OutputDir = out; c.StorePath = db }, nil, nil)
	h.waitFor("the rest", func() bool { n := channelFiles(fd); return n["p2.pdf"] > 0 && n["p3.pdf"] > 0 })
	h.waitIdle()
	h.stop()
	if n := channelFiles(fd); n["p1.pdf"] != 0 || n["p2.pdf"] != 1 || n["p3.pdf"] != 1 {
		t.Fatalf("sent: %v", n)
	}
	r := record(t, db, "parts1")
	if r.State != store.Done || len(r.Delivered) != 3 {
		t.Fatalf("state %s, delivered %v", r.State, r.Delivered)
	}
}

// The request is on disk before the status response goes out, and a job
// someone joined keeps both requesters across a restart: both get it.
func TestSharedJobSurvivesRestart(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	mod := func(c *Config) { c.OutputDir = out; c.StorePath = db; c.ShutdownGrace = 100 * time.Millisecond }
	h := startOn(t, fd, mod, nil, nil)
	var unsaved atomic.Int32
	fd.OnRequest(func(r fakediscord.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/callback") && strings.Contains(string(r.Body), "job ") {
			js, _ := h.bot.st.List(nil)
			if len(js) == 0 {
				unsaved.Add(1)
			}
		}
	})
	site := newSite(t, 60, true)
	url := site.URL + "/chapter/both?n=2"
	tok1 := h.download("u1", url, 0)
	h.jobID(tok1)
	tok2 := h.download("u2", url, 0)
	h.waitFor("joined", h.originalHas(tok2, "already in progress"))
	fd.OnRequest(nil)
	if unsaved.Load() != 0 {
		t.Fatal("a status response went out before the job was saved")
	}
	h.stop()

	site.release(100)
	startOn(t, fd, mod, nil, nil)
	for _, tok := range []string{tok1, tok2} {
		h.waitAttachment(tok)
	}
}

// Temp files of jobs a crash left behind are removed at start, with and
// without a store.
func TestStartRemovesOldTempFiles(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		out := t.TempDir()
		old := []string{
			filepath.Join(out, "jobs", "abc"),
			filepath.Join(out, "jobs", "abc.pages"),
			filepath.Join(out, "jobs", "abc-split-123"),
			filepath.Join(out, "job-deadbeef"),
		}
		for _, d := range old {
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o644)
		}
		h := start(t, func(c *Config) {
			c.OutputDir = out
			if withStore {
				c.StorePath = filepath.Join(t.TempDir(), "store.db")
			}
		})
		for _, d := range old {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("store %v: %s survived", withStore, d)
			}
		}
		h.stop()
	}
}

// With links configured, a result that fits in MaxParts parts is attached
// in parts, not linked.
func TestLinksConfiguredStillSendsParts(t *testing.T) {
	addr := freeAddr(t)
	h := start(t, func(c *Config) {
		c.Listen = addr
		c.PublicURL = "http://" + addr
	})
	const limit = 30 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/lp?n=3", limit)
	parts := h.waitParts(tok)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	h.waitIdle()
	if s := statusText(h.fd.Original(tok)); strings.Contains(s, "/dl/") || !strings.Contains(s, "Done") {
		t.Fatalf("status: %s", s)
	}
}

// A request refused after the cooldown check (its link does not resolve)
// does not start the cooldown.
func TestCooldownOnlyForAccepted(t *testing.T) {
	h := start(t, func(c *Config) { c.Cooldown = time.Hour })
	site := newSite(t, 60, false)
	h.refused(h.download("u1", site.URL+"/nothing-here", 0), "❌")
	tok := h.download("u1", site.URL+"/chapter/ok?n=2", 0)
	h.waitAttachment(tok)
	h.refused(h.download("u1", site.URL+"/chapter/ok2?n=2", 0), "cooldown")
}

// Pages of a cancelled job that were never fetched go back to the quota.
func TestCancelRefundsQuota(t *testing.T) {
	h := start(t, func(c *Config) { c.DailyPages = 5 })
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/q1?n=4", 0)
	id := h.jobID(tok)
	h.click("u1", 0, "cancel:"+id)
	h.waitFor("cancelled", h.originalHas(tok, "Cancelled"))
	h.waitIdle()
	site.release(100)
	tok2 := h.download("u1", site.URL+"/chapter/q2?n=4", 0)
	if cb := h.waitCallback(tok2); flags(cb)&64 != 0 {
		t.Fatalf("refused: %v", cb)
	}
	h.waitAttachment(tok2)
}

// Resumed jobs are registered at once: while their link resolves again
// they are listed and can be cancelled.
func TestResumedJobCancellableWhileResolving(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	site := newSiteWith(t, 60, false, true) // resolving waits
	defer close(site.hold)
	putRecords(t, db, deadRecord("slow1", site.URL+"/chapter/slow?n=2", store.Queued))

	h := startOn(t, fd, func(c *Config) { c.OutputDir = out; c.StorePath = db }, nil, nil)
	tok := h.command("jobs", dl{user: "u1"})
	if cb := h.waitCallback(tok); !strings.Contains(content(cb), "slow1") {
		t.Fatalf("jobs: %v", cb)
	}
	tok = h.click("u1", 0, "cancel:slow1")
	if cb := h.waitCallback(tok); strings.Contains(content(cb), "already finished") {
		t.Fatalf("cancel: %v", cb)
	}
	h.waitIdle()
	h.stop()
	if r := record(t, db, "slow1"); r.State != store.Cancelled {
		t.Fatalf("state %s", r.State)
	}
}

// With guild ids, global commands (from an earlier global registration)
// are removed.
func TestGuildRegistrationClearsGlobal(t *testing.T) {
	h := start(t, nil)
	h.waitFor("global cleared", func() bool { return string(h.fd.Commands("global")) == "[]" })
}

// A progress edit refused with 429 is sent again once the pause is over,
// even when no further progress comes: the status does not stay stale.
func TestRateLimitedStatusCatchesUp(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/stale?n=3", 0)
	h.waitFor("running", h.originalHas(tok, "0 done"))
	h.fd.RateLimit("PATCH", "/messages/@original", 1, 0.2)
	site.release(1)
	h.waitFor("429 seen", func() bool {
		for _, r := range h.patches(tok) {
			if r.Status == 429 {
				return true
			}
		}
		return false
	})
	h.waitFor("status caught up", h.originalHas(tok, "1 done"))
	site.release(2)
	h.waitAttachment(tok)
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

// With a random link key, links of a previous run are dead: their files
// are removed at start. A configured key keeps them.
func TestRandomLinkKeyClearsOldLinks(t *testing.T) {
	for _, secret := range []string{"", "kept-secret"} {
		out := t.TempDir()
		old := filepath.Join(out, "links", strings.Repeat("a", 32))
		os.MkdirAll(old, 0o700)
		os.WriteFile(filepath.Join(old, "x.pdf"), []byte("x"), 0o600)
		addr := freeAddr(t)
		h := start(t, func(c *Config) {
			c.OutputDir = out
			c.Listen = addr
			c.PublicURL = "http://" + addr
			c.LinkSecret = secret
		})
		_, err := os.Stat(old)
		if gone := os.IsNotExist(err); gone != (secret == "") {
			t.Errorf("secret %q: old link removed: %v", secret, gone)
		}
		h.stop()
	}
}

// A resumed job whose token is gone and whose status message is unknown
// posts one status message (with its Cancel button) and then edits it:
// the final state does not come as another post.
func TestFallbackStatusPostedOnce(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	site := newSite(t, 60, false)
	putRecords(t, db, deadRecord("post1", site.URL+"/chapter/post?n=2", store.Queued))
	h := startOn(t, fd, func(c *Config) { c.OutputDir = out; c.StorePath = db }, nil, nil)
	h.waitFor("delivery", func() bool { return len(channelFiles(fd)) > 0 })
	h.waitIdle()
	var status []fakediscord.Message
	for _, m := range fd.ChannelMessages() {
		if len(m.Attachments) == 0 {
			status = append(status, m)
		}
	}
	if len(status) != 1 || !strings.Contains(statusText(&status[0]), "Done") {
		t.Fatalf("%d status posts: %+v", len(status), status)
	}
	var first string
	for _, r := range fd.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/channels/") && len(r.Files) == 0 {
			first = string(r.Body)
			break
		}
	}
	if !strings.Contains(first, "cancel:post1") {
		t.Fatalf("the posted status has no Cancel button: %s", first)
	}
}

// Shutdown that cuts an upload short leaves the job "delivering", with
// its files, so it is delivered after the restart.
func TestShutdownDuringUploadKeepsDelivering(t *testing.T) {
	out, db := t.TempDir(), filepath.Join(t.TempDir(), "store.db")
	h := start(t, func(c *Config) {
		c.OutputDir, c.StorePath = out, db
		c.RetryDelay = time.Hour // the upload waits to be retried (until the hard stop)
		c.ShutdownGrace = 100 * time.Millisecond
	})
	h.fd.Inject(fakediscord.Fault{Method: "PATCH", PathContains: "/messages/@original", WithFiles: true,
		Count: 1000, Status: 500, Body: `{"message":"boom","code":0}`})
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/cut?n=2", 0)
	id := h.jobID(tok)
	h.waitFor("upload refused", func() bool {
		for _, r := range h.patches(tok) {
			if len(r.Files) > 0 {
				return true
			}
		}
		return false
	})
	h.stop()
	r := record(t, db, id)
	if r.State != store.Delivering || !filesExist(r.Files) {
		t.Fatalf("state %s, files %v (exist %v)", r.State, r.Files, filesExist(r.Files))
	}
}
