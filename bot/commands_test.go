package bot

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
	"github.com/mangabot/mangabot/sites/mangadex"
)

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

// With guild ids, global commands (from an earlier global registration)
// are removed.
func TestGuildRegistrationClearsGlobal(t *testing.T) {
	h := start(t, nil)
	h.waitFor("global cleared", func() bool { return string(h.fd.Commands("global")) == "[]" })
}

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

// Autocomplete asks sites that search (MangaDex, here against a loopback
// API) and answers choices, an empty list included; titles are shown
// without control characters or bidi overrides.
func TestAutocomplete(t *testing.T) {
	const id = "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/manga" {
			http.NotFound(w, r)
			return
		}
		data := []any{}
		if strings.Contains(strings.ToLower(r.URL.Query().Get("title")), "foo") {
			data = append(data, map[string]any{"id": id, "type": "manga", "attributes": map[string]any{"title": map[string]string{"en": "Foo\u202eoof\x1b[0m"}}})
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
	h := startWith(t, nil, startOptions{siteOpts: map[string]any{"mangadex": o}})
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
	if c["name"] != "Foooof[0m (mangadex)" || c["value"] != "https://mangadex.org/title/"+id {
		t.Fatalf("choice: %v", c)
	}
	cb = ask("nothing here")
	d, _ := cb["data"].(map[string]any)
	if l, ok := d["choices"].([]any); !ok || len(l) != 0 {
		t.Fatalf(`want "choices": [], got %v`, cb)
	}
}

func TestAttachmentLimitFromPayload(t *testing.T) {
	for raw, want := range map[string]int64{
		`{"id":"1","attachment_size_limit":26214400}`: 25 << 20,
		`{"id":"1"}`:                      10 << 20,
		`{"attachment_size_limit":0}`:     10 << 20,
		`{"attachment_size_limit":"big"}`: 10 << 20,
		`not json`:                        10 << 20,
	} {
		if got := attachmentLimit([]byte(raw), 10<<20); got != want {
			t.Errorf("%s: %d, want %d", raw, got, want)
		}
	}
}

// /manga download offers fit: shrink, parts or link.
func TestDownloadFitOption(t *testing.T) {
	h := start(t, nil)
	var cmds []struct {
		Options []struct {
			Name    string
			Options []struct {
				Name    string
				Choices []struct{ Value string }
			}
		}
	}
	if err := json.Unmarshal(h.fd.Commands("g1"), &cmds); err != nil || len(cmds) != 1 {
		t.Fatalf("commands: %v %s", err, h.fd.Commands("g1"))
	}
	var got []string
	for _, sub := range cmds[0].Options {
		for _, o := range sub.Options {
			if sub.Name == "download" && o.Name == "fit" {
				for _, c := range o.Choices {
					got = append(got, c.Value)
				}
			}
		}
	}
	if strings.Join(got, ",") != "shrink,parts,link" {
		t.Errorf("fit choices %v", got)
	}
}

// /manga download with a series link and chapters: on a host the bot has
// never seen, the Madara engine is recognised from the page and the two
// selected chapters arrive as two PDFs of their pages — the same pipeline
// as `bot fetch`.
func TestDownloadSeriesChapters(t *testing.T) {
	const fx = "../sites/madara/testdata/"
	cdn := enginetest.NewCDN(t)
	rd := enginetest.NewReader(t, cdn, map[string]enginetest.Route{
		"GET /manga/solo-hero/":                {File: fx + "series-ajax.html"},
		"POST /manga/solo-hero/ajax/chapters/": {File: fx + "ajax-chapters.html"},
		"GET /manga/solo-hero/chapter-1/":      {File: fx + "chapter.html", Replace: []string{"/pages/solo-hero/10/", "/pages/solo-hero/1/"}},
		"GET /manga/solo-hero/chapter-10/":     {File: fx + "chapter.html"},
	})
	h := start(t, nil)
	tok := h.command("download", dl{user: "u1", opts: map[string]string{"url": rd.URL + "/manga/solo-hero/", "chapters": "1,10"}})
	h.waitFor("two files", func() bool {
		n := 0
		for _, m := range h.fd.Followups(tok) {
			n += len(m.Attachments)
		}
		if o := h.fd.Original(tok); o != nil {
			n += len(o.Attachments)
		}
		return n == 2
	})
	var names []string
	pages := 0
	msgs := h.fd.Followups(tok)
	if o := h.fd.Original(tok); o != nil {
		msgs = append(msgs, *o)
	}
	for _, m := range msgs {
		for _, a := range m.Attachments {
			names = append(names, a.Filename)
			pages += checkPDF(t, a.Data())
		}
	}
	if pages != 6 {
		t.Errorf("%d pages in %v, want 3 + 3", pages, names)
	}
	if joined := strings.Join(names, " | "); !strings.Contains(joined, "Ch.1.pdf") || !strings.Contains(joined, "Ch.10") {
		t.Errorf("files %v, want chapters 1 and 10", names)
	}
	if n := cdn.Hits("/pages/solo-hero/1/") + cdn.Hits("/pages/solo-hero/10/"); n != 6 {
		t.Errorf("CDN served %d pages, want 6", n)
	}
	if n := cdn.Hits("/decoy/"); n != 0 {
		t.Errorf("%d decoys fetched", n)
	}
}
