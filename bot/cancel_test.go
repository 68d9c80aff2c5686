package bot

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

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

// A moderator of another server cannot cancel a job shared with this one:
// only their server's requesters leave it.
func TestModeratorCancelsOnlyInOwnServer(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 60, true)
	u := site.URL + "/chapter/x?n=2"
	t1 := h.downloadIn("g1", "u1", u)
	id := h.jobID(t1)
	t2 := h.downloadIn("g2", "u2", u)
	h.waitFor("shared", h.originalHas(t2, "already in progress"))
	mt := h.clickIn("g2", "mod2", discordgo.PermissionManageMessages, "cancel:"+id)
	if cb := h.waitCallback(mt); cb["type"].(float64) != 6 {
		t.Fatalf("moderator's click: %v", cb)
	}
	h.waitFor("g2 left", h.originalHas(t2, "goes on for others"))
	site.release(2)
	h.waitAttachment(t1)
	if s := statusText(h.fd.Original(t1)); strings.Contains(s, "Cancelled") {
		t.Fatalf("g1's job cancelled: %s", s)
	}
	h.waitIdle()
	if m := h.fd.Original(t2); len(m.Attachments) != 0 {
		t.Fatal("the server that left got the file")
	}
}
