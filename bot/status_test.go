package bot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/store"
)

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

// A progress edit answered 429 with a long retry_after: discordgo must not
// sleep it out (the status loop would hold the delivery): the file still
// arrives (the harness's wait, far below retry_after, is the guard).
func TestRateLimitedProgressDoesNotHoldDelivery(t *testing.T) {
	h := start(t, nil)
	h.fd.Inject(fakediscord.Fault{Method: "PATCH", PathContains: "/messages/@original", WithoutFiles: true, Count: 1, Status: 429,
		Body:   `{"message":"You are being rate limited.","retry_after":300,"global":false}`,
		Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset-After": {"300"}, "X-Ratelimit-Bucket": {"fake"}, "Retry-After": {"300"}}})
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/rl2?n=2", 0)
	h.waitFor("429 on a progress edit", func() bool {
		for _, r := range h.patches(tok) {
			if r.Status == 429 {
				return true
			}
		}
		return false
	})
	site.release(2)
	h.waitAttachment(tok)
}

// A resumed job whose token is gone and whose status message is unknown
// posts one status message (with its Cancel button) and then edits it:
// the final state does not come as another post.
func TestFallbackStatusPostedOnce(t *testing.T) {
	rs := newRestartable(t)
	fd, db := rs.fd, rs.db
	site := newSite(t, 60, false)
	putRecords(t, db, deadRecord("post1", site.URL+"/chapter/post?n=2", store.Queued))
	h := rs.start(t, nil)
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
