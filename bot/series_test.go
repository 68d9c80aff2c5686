package bot

import (
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

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
