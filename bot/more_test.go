package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/mangadex"
	"github.com/mangabot/mangabot/store"
)

// /manga jobs lists the caller's jobs with their queue positions.
func TestJobsListsQueuePositions(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxJobs = 1 })
	site := newSite(t, 60, true)
	h.jobID(h.download("u1", site.URL+"/chapter/a?n=1", 0))
	b1 := h.download("u2", site.URL+"/chapter/b?n=1", 0)
	h.waitFor("queued", h.originalHas(b1, "position **1**"))
	b2 := h.download("u2", site.URL+"/chapter/c?n=1", 0)
	h.waitFor("queued", h.originalHas(b2, "position **2**"))
	cb := h.waitCallback(h.command("jobs", dl{user: "u2"}))
	c := content(cb)
	if flags(cb)&64 == 0 || !strings.Contains(c, "Chapter b") || !strings.Contains(c, "Chapter c") ||
		!strings.Contains(c, "queued, position 1") || !strings.Contains(c, "queued, position 2") || strings.Contains(c, "Chapter a") {
		t.Fatalf("jobs: %v", cb)
	}
	site.release(3)
	h.waitIdle()
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

// Without guild ids the commands are registered globally.
func TestGlobalRegistration(t *testing.T) {
	h := start(t, func(c *Config) { c.GuildIDs = nil })
	var cmds []map[string]any
	if err := json.Unmarshal(h.fd.Commands("global"), &cmds); err != nil || len(cmds) != 1 || cmds[0]["name"] != "manga" {
		t.Fatalf("global commands: %s", h.fd.Commands("global"))
	}
	if h.fd.Commands("g1") != nil {
		t.Fatal("registered in a guild")
	}
}

// Autocomplete asks sites that search (MangaDex, here against a loopback
// API) and answers choices, an empty list included.
func TestAutocomplete(t *testing.T) {
	const id = "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/manga" {
			http.NotFound(w, r)
			return
		}
		data := []any{}
		if strings.Contains(strings.ToLower(r.URL.Query().Get("title")), "foo") {
			data = append(data, map[string]any{"id": id, "type": "manga", "attributes": map[string]any{"title": map[string]string{"en": "Foo"}}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"result": "ok", "response": "collection", "data": data, "limit": 10, "offset": 0, "total": len(data)})
	}))
	t.Cleanup(api.Close)
	info, ok := sites.Lookup("mangadex")
	if !ok {
		t.Fatal("no mangadex")
	}
	o := info.Options().(*mangadex.Options)
	o.APIURL = api.URL
	h := startEnv(t, nil, nil, map[string]any{"mangadex": o})
	ask := func(q string) map[string]any {
		_, tok, err := h.fd.Dispatch(fakediscord.Interaction{Type: 4, GuildID: "g1", ChannelID: "c1", UserID: "u1",
			Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1, "options": []map[string]any{{"name": "download", "type": 1,
				"options": []map[string]any{{"name": "url", "type": 3, "value": q, "focused": true}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		cb := h.waitCallback(tok)
		if cb["type"].(float64) != 8 {
			t.Fatalf("autocomplete answer: %v", cb)
		}
		return cb
	}
	cb := ask("foo")
	choices, _ := cb["data"].(map[string]any)["choices"].([]any)
	if len(choices) != 1 {
		t.Fatalf("choices: %v", cb)
	}
	c := choices[0].(map[string]any)
	if !strings.HasPrefix(c["name"].(string), "Foo") || c["value"] != "https://mangadex.org/title/"+id {
		t.Fatalf("choice: %v", c)
	}
	cb = ask("nothing here")
	d, _ := cb["data"].(map[string]any)
	if l, ok := d["choices"].([]any); !ok || len(l) != 0 {
		t.Fatalf(`want "choices": [], got %v`, cb)
	}
}

// A job killed while delivering, whose status message already carries the
// file, is not delivered again after the restart.
func TestResumedDeliveringNotDeliveredTwice(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	out := t.TempDir()
	db := filepath.Join(t.TempDir(), "store.db")
	mod := func(c *Config) { c.OutputDir = out; c.StorePath = db }
	h := startOn(t, fd, mod, nil, nil)
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

	h2 := startOn(t, fd, mod, nil, nil)
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
