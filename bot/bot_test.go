package bot

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRegisterAndDownload(t *testing.T) {
	h := start(t, nil)
	for _, g := range []string{"g1", "g2"} {
		var cmds []struct {
			Name    string
			Options []struct{ Name string }
		}
		if err := json.Unmarshal(h.fd.Commands(g), &cmds); err != nil || len(cmds) != 1 || cmds[0].Name != "manga" || len(cmds[0].Options) != 3 {
			t.Fatalf("guild %s commands: %v %s", g, err, h.fd.Commands(g))
		}
	}
	if h.fd.Commands("global") != nil {
		t.Fatal("commands registered globally although guilds are configured")
	}

	site := newSite(t, 200, true)
	tok := h.download("u1", site.URL+"/chapter/1?n=6", 0)
	cb := h.waitCallback(tok)
	if cb["type"].(float64) != 4 {
		t.Fatalf("first response: %v", cb)
	}
	// Let half the pages through and see the status follow.
	site.release(3)
	h.waitFor("progress edit at 3 pages", h.originalHas(tok, "3 done"))
	if !strings.Contains(statusText(h.fd.Original(tok)), "Test Manga") {
		t.Fatalf("status lacks title: %s", statusText(h.fd.Original(tok)))
	}
	site.release(3)
	h.waitFor("attachment", func() bool {
		m := h.fd.Original(tok)
		return m != nil && len(m.Attachments) == 1
	})
	m := h.fd.Original(tok)
	if !strings.Contains(statusText(m), "Done") || len(m.Components) != 0 {
		t.Fatalf("final status: %s components %d", statusText(m), len(m.Components))
	}
	if n := checkPDF(t, m.Attachments[0].Data()); n != 6 {
		t.Fatalf("pdf has %d pages, want 6", n)
	}
	if n := len(h.patches(tok)); n < 2 {
		t.Fatalf("want several edits, got %d", n)
	}
	h.waitFor("job removed", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
}
