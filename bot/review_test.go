package bot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/metrics"
)

// waitParts waits until tok's followups hold all "part i of N" files and
// returns them.
func (h *harness) waitParts(tok string) []fakediscord.Message {
	h.t.Helper()
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs)) && len(fs[len(fs)-1].Attachments) == 1
	})
	return h.fd.Followups(tok)
}

// Uploads die with the connection: the client's error (a *url.Error) names
// the request URL, interaction token included. Users see a generic line,
// the status shows a failure (not "Done"), and neither what Discord was
// sent nor the log holds the token.
func TestDiscordErrorsHideToken(t *testing.T) {
	var sink logSink
	logger := slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := startLogged(t, nil, logger)
	for _, path := range []string{"/messages/@original", "/webhooks/"} {
		h.fd.Inject(fakediscord.Fault{PathContains: path, WithFiles: true, Drop: true, Count: 1000})
	}
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/leak?n=2", 0)
	h.waitFor("failed status", h.originalHas(tok, "Failed"))
	h.waitIdle()
	dropped := 0
	for _, r := range h.fd.Requests() {
		if r.Status == 0 && strings.Contains(r.Path, tok) {
			dropped++
		}
		if bytes.Contains(r.Body, []byte(tok)) {
			t.Errorf("%s %s sent the token: %s", r.Method, r.Path, r.Body)
		}
	}
	if dropped == 0 {
		t.Fatal("no upload was dropped; the test tests nothing")
	}
	for _, m := range h.fd.ChannelMessages() {
		if strings.Contains(m.Content+fmt.Sprint(m.Embeds), tok) {
			t.Errorf("channel message holds the token: %+v", m)
		}
	}
	if strings.Contains(sink.String(), tok) {
		t.Errorf("log holds the token:\n%s", sink.String())
	}
	text := statusText(h.fd.Original(tok))
	if strings.Contains(text, "Done") || !strings.Contains(text, "upload to Discord failed") {
		t.Fatalf("status: %s", text)
	}
}

// Links resolve slower than ResolveWait: the response is deferred (public).
// Errors after that (a bad link, the daily quota) delete it and go to the
// user alone in an ephemeral followup.
func TestDeferredErrorsAreEphemeral(t *testing.T) {
	h := start(t, func(c *Config) { c.ResolveWait = 20 * time.Millisecond; c.DailyPages = 2 })
	site := newSiteWith(t, 60, false, true)
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

// A requester with a smaller attachment limit joins a running job built
// for a larger one: they get parts that fit, rebuilt from the kept pages.
func TestSharedSmallerLimitGetsParts(t *testing.T) {
	h := start(t, nil)
	site := newSite(t, 160, true)
	u := site.URL + "/chapter/lim?n=6"
	t1 := h.download("u1", u, 10<<20)
	h.jobID(t1)
	site.release(1)
	h.waitFor("running", h.originalHas(t1, "1 done"))
	const small = 120 << 10
	t2 := h.download("u2", u, small)
	h.waitFor("shared", h.originalHas(t2, "already in progress"))
	site.release(5)
	h.waitAttachment(t1)
	parts := h.waitParts(t2)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	pages := 0
	for _, p := range parts {
		if len(p.Attachments) != 1 || p.Attachments[0].Size > small {
			t.Fatalf("bad part %+v", p.Attachments)
		}
		pages += checkPDF(t, p.Attachments[0].Data())
	}
	if pages != 6 {
		t.Fatalf("parts hold %d pages", pages)
	}
	if n := site.imgReqs.Load(); n != 6 {
		t.Fatalf("%d image requests, want 6 (no refetch)", n)
	}
	h.waitFor("clean", func() bool { return len(filesIn(t, h.cfg.OutputDir)) == 0 })
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

// An upload that could outlive the interaction token goes through the bot
// token, though the token still works for status edits.
func TestUploadOutlivingTokenUsesChannel(t *testing.T) {
	h := start(t, func(c *Config) { c.TokenTTL = time.Minute; c.UploadTimeout = 2 * time.Minute })
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/long?n=2", 0)
	h.waitFor("channel delivery", func() bool {
		for _, m := range h.fd.ChannelMessages() {
			if len(m.Attachments) == 1 {
				return true
			}
		}
		return false
	})
	h.waitIdle()
	edits := 0
	for _, r := range h.patches(tok) {
		if len(r.Files) > 0 {
			t.Fatal("upload through an interaction token that may die during it")
		}
		if r.Status == 200 {
			edits++
		}
	}
	if edits == 0 {
		t.Fatal("status not edited through the (live) interaction token")
	}
	if s := statusText(h.fd.Original(tok)); !strings.Contains(s, "Done") {
		t.Fatalf("status: %s", s)
	}
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

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The metrics listener serves /metrics and /healthz; the public listener
// (links) serves neither. IDENTIFY asks for no intents.
func TestMetricsAndHealth(t *testing.T) {
	m := metrics.New()
	addr, pub := freeAddr(t), freeAddr(t)
	h := start(t, func(c *Config) {
		c.MetricsListen = addr
		c.Listen = pub
		c.PublicURL = "http://" + pub
		c.Metrics = m
	})
	for _, p := range []string{"/metrics", "/healthz"} {
		if c, _ := httpGet(t, "http://"+pub+p); c != 404 {
			t.Errorf("public listener serves %s: %d", p, c)
		}
	}
	ids := h.fd.Identifies()
	if len(ids) == 0 || ids[0].Intents != 0 || ids[0].Token != "Bot test-token" {
		t.Fatalf("identify: %+v", ids)
	}
	base := "http://" + addr
	h.waitFor("healthy", func() bool { c, _ := httpGet(t, base+"/healthz"); return c == 200 })
	site := newSite(t, 60, false)
	h.waitAttachment(h.download("u1", site.URL+"/chapter/m?n=3", 0))
	h.waitIdle()
	var body string
	h.waitFor("metrics", func() bool {
		_, body = httpGet(t, base+"/metrics")
		return strings.Contains(body, `mangabot_jobs_finished_total{state="done"} 1`)
	})
	for _, want := range []string{`mangabot_pages_total{result="ok"} 3`, `mangabot_queue_length 0`, `mangabot_gateway_connected 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	h.fd.DropGateway(true)
	h.waitFor("unhealthy", func() bool { c, _ := httpGet(t, base+"/healthz"); return c == 503 })
	h.fd.AllowGateway()
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
