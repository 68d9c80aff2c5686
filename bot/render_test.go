package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
)

func testPlan() *pipeline.Plan {
	return &pipeline.Plan{Site: "generic", Title: "Some Manga Chapter 3", Pages: 10, Credits: []string{"Group A"},
		Request: pipeline.Request{URL: "https://site.example/ch/3"}}
}

// field returns the value of the embed field name ("" when absent).
func field(e *discordgo.MessageEmbed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func hasCancel(v view, id string) bool {
	for _, c := range v.Components {
		if row, ok := c.(discordgo.ActionsRow); ok {
			for _, b := range row.Components {
				if btn, ok := b.(discordgo.Button); ok && btn.CustomID == "cancel:"+id {
					return true
				}
			}
		}
	}
	return false
}

func TestRenderStates(t *testing.T) {
	for _, c := range []struct {
		name     string
		s        statusData
		desc     []string // in the description, in order
		notDesc  string
		color    int
		cancel   bool
		fields   map[string]string
		noFields []string
	}{
		{name: "queued", s: statusData{state: stateQueued, pos: 2, note: "⚠️ shutting down"},
			desc: []string{"⏳ Waiting in queue — position **2**", "⚠️ shutting down"}, color: 0xF1C40F, cancel: true,
			fields: map[string]string{"Queue position": "2", "Pages": "0 done · 0 failed · 10 total", "Site": "generic", "Credits": "Group A"}},
		{name: "resumed, not in the queue yet", s: statusData{state: stateQueued},
			desc: []string{"⏳ Waiting in queue"}, notDesc: "position", color: 0xF1C40F, cancel: true, noFields: []string{"Queue position"}},
		{name: "running", s: statusData{state: stateRunning, elapsed: 10 * time.Second,
			prog: pipeline.Progress{PagesDone: 4, PagesFailed: 1, Bytes: 10 << 20, Stage: "downloading", Chapter: 2, Chapters: 3}},
			desc:  []string{"`" + strings.Repeat("█", 10) + strings.Repeat("░", 10) + "` 50%", "downloading (chapter 2 of 3)"},
			color: 0x3498DB, cancel: true,
			fields: map[string]string{"Pages": "4 done · 1 failed · 10 total", "Speed": "1 MiB/s", "ETA": "10s"}},
		{name: "running, nothing yet", s: statusData{state: stateRunning},
			desc: []string{"` 0%", "starting"}, color: 0x3498DB, cancel: true, noFields: []string{"Speed", "ETA"}},
		{name: "done", s: statusData{state: stateDone, note: "not shown", extra: "📄 file.pdf (1 MiB)"},
			desc: []string{"✅ Done", "📄 file.pdf (1 MiB)"}, notDesc: "not shown", color: 0x2ECC71},
		{name: "done from cache", s: statusData{state: stateDone, fromCache: true},
			desc: []string{"✅ Done ⚡ from cache"}, color: 0x2ECC71},
		{name: "failed", s: statusData{state: stateFailed, outcome: "the site said 404"},
			desc: []string{"❌ Failed: the site said 404"}, color: 0xE74C3C},
		{name: "cancelled by a user", s: statusData{state: stateCancelled, canceler: "42", outcome: "cancelled"},
			desc: []string{"🛑 Cancelled by <@42>"}, color: 0x95A5A6},
		{name: "cancelled", s: statusData{state: stateCancelled, outcome: "the bot is shutting down"},
			desc: []string{"🛑 Cancelled: the bot is shutting down"}, color: 0x95A5A6},
		{name: "paused", s: statusData{state: stateCancelled, paused: true, outcome: "the bot is shutting down"},
			desc: []string{"⏸ Paused: the bot is restarting"}, notDesc: "Cancelled", color: 0x95A5A6},
	} {
		c.s.id, c.s.plan = "0123456789", testPlan()
		if c.s.total == 0 {
			c.s.total = 10
		}
		v := c.s.render()
		if len(v.Embeds) != 1 {
			t.Fatalf("%s: %d embeds", c.name, len(v.Embeds))
		}
		e := v.Embeds[0]
		rest := e.Description
		for _, d := range c.desc {
			i := strings.Index(rest, d)
			if i < 0 {
				t.Errorf("%s: %q not in description %q (in order)", c.name, d, e.Description)
				break
			}
			rest = rest[i+len(d):]
		}
		if c.notDesc != "" && strings.Contains(e.Description, c.notDesc) {
			t.Errorf("%s: %q in description %q", c.name, c.notDesc, e.Description)
		}
		if e.Color != c.color {
			t.Errorf("%s: color %#x, want %#x", c.name, e.Color, c.color)
		}
		if got := hasCancel(v, "0123456789"); got != c.cancel {
			t.Errorf("%s: cancel button %v, want %v", c.name, got, c.cancel)
		}
		if v.Components == nil {
			t.Errorf("%s: nil components (an edit would keep the old button)", c.name)
		}
		for name, want := range c.fields {
			if got := field(e, name); got != want {
				t.Errorf("%s: field %s = %q, want %q", c.name, name, got, want)
			}
		}
		for _, name := range c.noFields {
			if got := field(e, name); got != "" {
				t.Errorf("%s: field %s = %q, want none", c.name, name, got)
			}
		}
		if e.Title != "Some Manga Chapter 3" || e.URL != "https://site.example/ch/3" || e.Footer.Text != "job 0123456789" {
			t.Errorf("%s: title %q url %q footer %q", c.name, e.Title, e.URL, e.Footer.Text)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	p := testPlan()
	p.Title = strings.Repeat("t", 300)
	p.Request.URL = "mangadex:abc" // not a link: no URL on the embed
	s := statusData{id: "x", plan: p, state: stateFailed, outcome: strings.Repeat("e", 5000), total: 1}
	e := s.render().Embeds[0]
	if n := len([]rune(e.Title)); n != 256 || !strings.HasSuffix(e.Title, "…") {
		t.Errorf("title of %d runes, want 256 ending in …", n)
	}
	if n := len([]rune(e.Description)); n != 4096 {
		t.Errorf("description of %d runes, want 4096", n)
	}
	if e.URL != "" {
		t.Errorf("embed URL %q for a non-link request", e.URL)
	}
}

// A delivery that failed shows the job as failed, whatever its state.
func TestFailedViewOverridesState(t *testing.T) {
	j := &job{b: &Bot{}, id: "abc", plan: testPlan(), state: stateDone}
	e := j.failedView("the upload to Discord failed").Embeds[0]
	if !strings.Contains(e.Description, "❌ Failed: the upload to Discord failed") || e.Color != 0xE74C3C {
		t.Errorf("failed view: %q %#x", e.Description, e.Color)
	}
	if e := j.view("").Embeds[0]; !strings.Contains(e.Description, "✅ Done") {
		t.Errorf("view: %q", e.Description)
	}
}
