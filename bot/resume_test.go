package bot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/store"
)

// The request is on disk before the status response goes out, and a job
// someone joined keeps both requesters across a restart: both get it.
func TestSharedJobSurvivesRestart(t *testing.T) {
	rs := newRestartable(t)
	fd := rs.fd
	mod := func(c *Config) { c.ShutdownGrace = 100 * time.Millisecond }
	h := rs.start(t, mod)
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
	rs.start(t, mod)
	for _, tok := range []string{tok1, tok2} {
		h.waitAttachment(tok)
	}
}

// Resumed jobs are registered at once: while their link resolves again
// they are listed and can be cancelled.
func TestResumedJobCancellableWhileResolving(t *testing.T) {
	rs := newRestartable(t)
	db := rs.db
	site := newHeldSite(t, 60) // resolving waits
	defer close(site.hold)
	putRecords(t, db, deadRecord("slow1", site.URL+"/chapter/slow?n=2", store.Queued))

	h := rs.start(t, nil)
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

// A resumed job whose link no longer resolves fails (visibly) instead of
// hanging; the fallback status message is posted once, with its id learnt.
func TestResumedUnresolvableFails(t *testing.T) {
	rs := newRestartable(t)
	fd, db := rs.fd, rs.db
	site := newSite(t, 60, false)
	gone := site.URL + "/nothing-here"
	putRecords(t, db, deadRecord("gone1", gone, store.Queued))

	h := rs.start(t, nil)
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

// A job resumed in the delivering state whose interaction token is gone
// is delivered once, through the channel, and ends done (its status loop
// never started: closing it must not wait for it).
func TestResumedDeliveringExpiredToken(t *testing.T) {
	rs := newRestartable(t)
	fd, out, db := rs.fd, rs.out, rs.db
	site := newSite(t, 60, false)
	dir := store.JobDir(out, "dlv1") + ".out"
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, "kept.pdf")
	os.WriteFile(file, []byte("%PDF-1.4 kept"), 0o644)
	rec := deadRecord("dlv1", site.URL+"/chapter/kept?n=2", store.Delivering)
	rec.Files = []string{file}
	putRecords(t, db, rec)

	h := rs.start(t, nil)
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

// A job killed while delivering, whose status message already carries the
// file, is not delivered again after the restart.
func TestResumedDeliveringNotDeliveredTwice(t *testing.T) {
	rs := newRestartable(t)
	fd, out, db := rs.fd, rs.out, rs.db
	var mod func(*Config)
	h := rs.start(t, mod)
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/once?n=2", 0)
	id := h.jobID(tok)
	h.waitAttachment(tok)
	h.waitIdle()
	h.cancel()
	if err := <-h.errc; err != nil {
		t.Fatal(err)
	}
	h.errc <- nil

	// As if killed after the upload, before the end was written.
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := st.Get(id)
	if err != nil || !ok {
		t.Fatalf("record: %v %v", ok, err)
	}
	dir := store.JobDir(out, id) + ".out"
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, "once.pdf")
	if err := os.WriteFile(file, fd.Original(tok).Attachments[0].Data(), 0o644); err != nil {
		t.Fatal(err)
	}
	rec.State, rec.Files = store.Delivering, []string{file}
	if _, err := st.Put(rec); err != nil {
		t.Fatal(err)
	}
	st.Close()
	before := len(fd.Requests())

	h2 := rs.start(t, mod)
	// The resumed job looks at its status message...
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, _, err := fd.WaitRequest(ctx, before, func(r fakediscord.Request) bool {
		return r.Method == "GET" && strings.Contains(r.Path, "/"+tok+"/messages/@original")
	}); err != nil {
		t.Fatal(err)
	}
	// ...and ends; Run returns after it (shutdown waits for resuming).
	h2.cancel()
	if err := <-h2.errc; err != nil {
		t.Fatal(err)
	}
	h2.errc <- nil
	st, err = store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rec, _, _ := st.Get(id); rec.State != store.Done {
		t.Fatalf("record state %s", rec.State)
	}
	for _, r := range fd.Requests()[before:] {
		if len(r.Files) > 0 || (r.Method == "POST" && strings.HasPrefix(r.Path, "/channels/")) {
			t.Fatalf("delivered again: %s %s", r.Method, r.Path)
		}
	}
	if n := len(fd.Original(tok).Attachments); n != 1 {
		t.Fatalf("%d attachments", n)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatal("the kept file was not removed")
	}
}

// Killed in the middle of a multi-part delivery: after the restart only
// the parts not yet sent are sent.
func TestResumedPartsNotSentTwice(t *testing.T) {
	rs := newRestartable(t)
	fd, out, db := rs.fd, rs.out, rs.db
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

	h := rs.start(t, nil)
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

// A job stored before formats existed was a PDF: it resumes as one even
// when the default format is now CBZ; a new request gets the default.
func TestResumedLegacyJobStaysPDF(t *testing.T) {
	rs := newRestartable(t)
	site := newSite(t, 60, false)
	putRecords(t, rs.db, deadRecord("old1", site.URL+"/chapter/old?n=2", store.Queued))
	h := startWith(t, func(c *Config) { c.OutputDir, c.StorePath = rs.out, rs.db }, startOptions{discord: rs.fd, format: book.CBZ})
	h.waitFor("resumed delivery", func() bool { return len(channelFiles(rs.fd)) > 0 })
	for name := range channelFiles(rs.fd) {
		if !strings.HasSuffix(name, ".pdf") {
			t.Errorf("legacy job delivered %s", name)
		}
	}
	tok := h.download("u2", site.URL+"/chapter/new?n=2", 0)
	h.waitAttachment(tok)
	if a := h.fd.Original(tok).Attachments[0]; !strings.HasSuffix(a.Filename, ".cbz") {
		t.Errorf("new request with the CBZ default delivered %s", a.Filename)
	}
}

// On a store shared by several gateways (Config.Store, which the bot does
// not close), a gateway resumes only the jobs of its shard's guilds:
// guild (id >> 22) % shard_count, direct messages on shard 0.
func TestShardResumesItsGuilds(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "shared.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	site := newSite(t, 60, false)
	mine := deadRecord("mine1", site.URL+"/chapter/mine?n=2", store.Queued)
	mine.GuildID = "4194304" // 1 << 22: shard 1 of 2
	theirs := deadRecord("theirs1", site.URL+"/chapter/theirs?n=2", store.Queued)
	theirs.GuildID = "8388608" // 2 << 22: shard 0
	dm := deadRecord("dm1", site.URL+"/chapter/dm?n=2", store.Queued)
	dm.GuildID = ""
	for _, j := range []store.Job{mine, theirs, dm} {
		if _, err := st.Put(j); err != nil {
			t.Fatal(err)
		}
	}
	h := start(t, func(c *Config) { c.Store, c.ShardID, c.ShardCount = st, 1, 2 })
	h.waitFor("shard 1's job done", func() bool {
		j, _, _ := st.Get("mine1")
		return j.State == store.Done
	})
	h.waitIdle()
	h.stop()
	for id, want := range map[string]store.State{"mine1": store.Done, "theirs1": store.Queued, "dm1": store.Queued} {
		j, ok, err := st.Get(id) // the store is still open: the bot did not close it
		if err != nil || !ok || j.State != want {
			t.Errorf("%s: %v %v %v; want state %s", id, j.State, ok, err, want)
		}
	}
	files := channelFiles(h.fd)
	for name := range files {
		if !strings.Contains(name, "mine") {
			t.Errorf("delivered %s of another shard", name)
		}
	}
	if len(files) != 1 {
		t.Errorf("delivered %v; want one file of chapter mine", files)
	}
}
