package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
	"github.com/mangabot/mangabot/store"
)

// countingSite serves /chapter (n images) and /img/N. Pages from open on
// wait for the gate; it counts requests and served responses per page.
type countingSite struct {
	*httptest.Server
	pages   [][]byte
	open    int
	gate    chan struct{}
	mu      sync.Mutex
	reqs    map[int]int
	served  map[int]int
	waiting int // requests held at the gate
}

func newCountingSite(t *testing.T, n, open int) *countingSite {
	s := &countingSite{open: open, gate: make(chan struct{}), reqs: map[int]int{}, served: map[int]int{}}
	for i := 0; i < n; i++ {
		s.pages = append(s.pages, jpegBytes(t, 60, 90, uint8(i*7)))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<html><head><title>Restart Series Chapter 9</title></head><body><div id="reader">`)
		for i := range s.pages {
			fmt.Fprintf(&b, `<img src="/img/%d">`, i)
		}
		b.WriteString(`</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/img/"))
		if err != nil || i >= len(s.pages) {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.reqs[i]++
		s.mu.Unlock()
		if i >= s.open {
			s.mu.Lock()
			s.waiting++
			s.mu.Unlock()
			select {
			case <-s.gate:
			case <-r.Context().Done():
			}
			s.mu.Lock()
			s.waiting--
			s.mu.Unlock()
			if r.Context().Err() != nil {
				return
			}
		}
		s.mu.Lock()
		s.served[i]++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(s.pages[i])
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *countingSite) counts() (reqs, served map[int]int, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs, served = map[int]int{}, map[int]int{}
	for k, v := range s.reqs {
		reqs[k] = v
		total += v
	}
	for k, v := range s.served {
		served[k] = v
	}
	return
}

// startBot starts `bot run` with the environment of the tests plus env.
func startBot(t *testing.T, cfg string, logs *testtool.LogBuffer, env ...string) *exec.Cmd {
	t.Helper()
	return startBotArgs(t, []string{"run", "-config", cfg}, logs, env...)
}

// startBotArgs starts the binary with args and the environment of the
// tests plus env.
func startBotArgs(t *testing.T, args []string, logs *testtool.LogBuffer, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(botBin, args...)
	cmd.Env = append(append(os.Environ(), "DISCORD_TOKEN="), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// waitFake waits (bounded, as a failure guard only) for cond on the fake.
func waitFake(t *testing.T, fd *fakediscord.Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
		fd.Wait(wctx, cond)
		wcancel()
		if cond() {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func embedText(m *fakediscord.Message) string {
	if m == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(m.Content)
	for _, e := range m.Embeds {
		sb.Write(e)
	}
	return sb.String()
}

func dispatchDownload(t *testing.T, fd *fakediscord.Server, user, url string) string {
	t.Helper()
	_, tok, err := fd.Dispatch(fakediscord.Interaction{Type: 2, GuildID: "g1", ChannelID: "c1", UserID: user,
		Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1,
			"options": []map[string]any{{"name": "download", "type": 1, "options": []map[string]any{{"name": "url", "type": 3, "value": url}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The bot is killed (SIGKILL) in the middle of a job. Restarted, it
// resumes the job through the bot token (the interaction token has
// expired meanwhile), fetches only the pages it did not have, delivers
// once, leaves no temp files; a repeat request is then answered from the
// cache without a single page request, and no token reaches the log.
func TestKillAndResume(t *testing.T) {
	needTool(t, "qpdf")
	const pages, open = 10, 4
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	site := newCountingSite(t, pages, open)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	dbPath := filepath.Join(dir, "db", "mangabot.db")
	const botToken = "restart-bot-token-0123456789"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, fmt.Sprintf(`concurrency = 4
rate = 1000.0
burst = 100
[discord]
token = %q
api_url = %q
guild_ids = ["g1"]
[bot]
edit_interval = "50ms"
[output]
dir = %q
metrics_listen = %q
[storage]
path = %q
[log]
level = "debug"
format = "json"
`, botToken, fd.URL, out, metricsAddr, dbPath))

	// A dead job's leftovers, which the first start removes.
	if err := os.MkdirAll(filepath.Join(out, "job-deadbeef00", "1"), 0o755); err != nil {
		t.Fatal(err)
	}

	var logs testtool.LogBuffer
	bot1 := startBot(t, cfg, &logs)
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	if _, err := os.Stat(filepath.Join(out, "job-deadbeef00")); !os.IsNotExist(err) {
		t.Fatalf("orphan job dir not removed: %v", err)
	}
	tok := dispatchDownload(t, fd, "u1", site.URL+"/chapter")
	waitFake(t, fd, "first pages done", func() bool {
		return strings.Contains(embedText(fd.Original(tok)), fmt.Sprintf("%d done", open))
	})
	idm := regexp.MustCompile(`job ([0-9a-f]{10})`).FindStringSubmatch(embedText(fd.Original(tok)))
	if idm == nil {
		t.Fatalf("no job id in %s", embedText(fd.Original(tok)))
	}
	jobID := idm[1]
	statusID := fd.Original(tok).ID

	if err := bot1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	bot1.Wait()
	if _, err := os.Stat(filepath.Join(out, "job-"+jobID)); err != nil {
		t.Fatalf("work dir of the killed job: %v", err)
	}
	fd.ExpireToken(tok) // the restart outlived the interaction token
	// The killed process's requests end before the gate opens, so none of
	// them counts as served.
	deadline := time.Now().Add(30 * time.Second)
	for {
		site.mu.Lock()
		w := site.waiting
		site.mu.Unlock()
		if w == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests of the killed bot still open", w)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(site.gate)
	reqsBefore, _, _ := site.counts()
	for i := 0; i < open; i++ {
		if reqsBefore[i] != 1 {
			t.Fatalf("page %d requested %d times before the kill", i, reqsBefore[i])
		}
	}

	nreq := len(fd.Requests())
	bot2 := startBot(t, cfg, &logs)
	delivered := func() []fakediscord.Message {
		var ms []fakediscord.Message
		for _, m := range fd.ChannelMessages() {
			if len(m.Attachments) > 0 {
				ms = append(ms, m)
			}
		}
		return ms
	}
	waitFake(t, fd, "delivery", func() bool { return len(delivered()) > 0 })
	waitFake(t, fd, "final status", func() bool { return strings.Contains(embedText(fd.Message(statusID)), "Done") })

	// Only the missing pages were fetched, each once.
	reqs, served, _ := site.counts()
	for i := 0; i < pages; i++ {
		if i < open && reqs[i] != 1 {
			t.Errorf("page %d (complete before the kill) requested %d times", i, reqs[i])
		}
		if served[i] != 1 {
			t.Errorf("page %d served %d times", i, served[i])
		}
	}
	// The status message said it resumed, edited with the bot token.
	resumed := false
	for _, r := range fd.Requests()[nreq:] {
		if r.Method == "PATCH" && r.Path == "/channels/c1/messages/"+statusID && strings.Contains(string(r.Body), "Resumed") {
			resumed = true
			if !strings.HasPrefix(r.Auth, "Bot ") {
				t.Errorf("resume edit without the bot token: %q", r.Auth)
			}
		}
	}
	if !resumed {
		t.Error("the status message never showed that the job resumed")
	}
	d := delivered()[0]
	pdf := filepath.Join(dir, "delivered.pdf")
	if err := os.WriteFile(pdf, d.Attachments[0].Data(), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := pdfPages(t, pdf); n != pages {
		t.Fatalf("delivered PDF has %d pages, want %d", n, pages)
	}

	// A repeat request: from the cache, no page request.
	_, _, before := site.counts()
	tok2 := dispatchDownload(t, fd, "u2", site.URL+"/chapter")
	waitFake(t, fd, "cached delivery", func() bool {
		m := fd.Original(tok2)
		return m != nil && len(m.Attachments) == 1
	})
	if !strings.Contains(embedText(fd.Original(tok2)), "from cache") {
		t.Errorf("repeat not marked as cached: %s", embedText(fd.Original(tok2)))
	}
	if _, _, after := site.counts(); after != before {
		t.Errorf("the repeat request made %d page requests", after-before)
	}
	if !bytes.Equal(fd.Original(tok2).Attachments[0].Data(), d.Attachments[0].Data()) {
		t.Error("the cached file differs from the delivered one")
	}

	// [output] metrics_listen serves the operators' endpoints.
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("metrics_listen: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Graceful stop: every delivery has happened by then.
	if err := bot2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := bot2.Wait(); err != nil {
		t.Fatalf("bot exit: %v\n%s", err, logs.String())
	}
	uploads := 0
	for _, r := range fd.Requests() {
		if len(r.Files) > 0 && r.Status == 200 {
			uploads++
		}
	}
	if n := len(delivered()); n != 1 || uploads != 2 { // the job's delivery and the cached repeat
		t.Errorf("deliveries: %d channel messages with files, %d uploads in all (want 1 and 2)", n, uploads)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "job-") || strings.HasPrefix(e.Name(), ".mangabot-") {
			t.Errorf("left in the output dir: %s", e.Name())
		}
	}
	if left, _ := os.ReadDir(filepath.Join(out, "jobs")); len(left) != 0 {
		t.Errorf("left in jobs/: %v", left)
	}
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, ok, err := st.Get(jobID)
	if err != nil || !ok || j.State != store.Done || j.PagesTotal != pages {
		t.Errorf("stored job: %+v %v %v", j, ok, err)
	}
	if un, _ := st.Unfinished(); len(un) != 0 {
		t.Errorf("unfinished jobs left: %+v", un)
	}

	// No secret in the log; job lines carry the job id.
	l := logs.String()
	for _, secret := range []string{botToken, tok, tok2} {
		if strings.Contains(l, secret) {
			t.Errorf("the log contains a token (%s)", secret)
		}
	}
	if !strings.Contains(l, `"job":"`+jobID+`"`) || !strings.Contains(l, "job resumed") {
		t.Errorf("the log lacks the job's lines:\n%s", l)
	}
}

// A store path that cannot be opened stops `bot run` with one line that
// names the operation once (it used to read "bot: bot: store P: open P:
// is a directory") and a non-zero exit.
func TestRunStoreIsDirectory(t *testing.T) {
	fd := fakediscord.New()
	defer fd.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db.d")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`[discord]
token = "store-test-token"
api_url = %q
[output]
dir = %q
metrics_listen = ""
[storage]
path = %q
`, fd.URL, filepath.Join(dir, "out"), db))
	r := run(t, context.Background(), "run", "-config", cfg)
	// Log lines (time=...) may come from the Discord session closing; the
	// one line meant for the user is the last of the others.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(l, "time=") {
			lines = append(lines, l)
		}
	}
	want := "bot: open job store: open " + db + ": is a directory"
	if r.code != 1 || len(lines) == 0 || lines[len(lines)-1] != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant last line %q", r.code, r.stderr, want)
	}
	if strings.Count(r.stderr, "bot: ") != 1 {
		t.Errorf("prefix repeated:\n%s", r.stderr)
	}
}

// `bot run` that cannot connect exits with one line and leaves no trace:
// the default ./data (output dir and job store) is not created.
func TestRunCreatesNothingWhenItCannotConnect(t *testing.T) {
	cfg := writeConfig(t, `[discord]
token = "unreachable-test-token"
api_url = "http://127.0.0.1:1"
[output]
metrics_listen = ""
`)
	cmd := botCommand(t, context.Background(), "run", "-config", cfg)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1: %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "bot: connect to discord: ") {
		t.Errorf("last line %q", last)
	}
	if names := dirEntries(t, cmd.Dir); len(names) != 0 {
		t.Errorf("working directory holds %v after a failed start", names)
	}
}

// At shutdown (SIGTERM) after a MangaDex download, the bot lets every
// MangaDex@Home report of the images it fetched leave before it exits,
// even from a slow report endpoint.
func TestRunSendsReportsBeforeExit(t *testing.T) {
	md := mdtest.New(t, mdtest.Options{Node: true, Reports: true, ReportDelay: time.Second})
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	cfg := writeConfig(t, fmt.Sprintf(`[discord]
token = "drain-bot-token-0123456789"
api_url = %q
guild_ids = ["g1"]
[bot]
edit_interval = "50ms"
[output]
dir = %q
[storage]
path = %q
`, fd.URL, t.TempDir(), filepath.Join(t.TempDir(), "mangabot.db"))+md.Config())
	var logs testtool.LogBuffer
	bot := startBot(t, cfg, &logs)
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	tok := dispatchDownload(t, fd, "u1", mdChapterLink)
	waitFake(t, fd, "delivery", func() bool {
		m := fd.Original(tok)
		return m != nil && len(m.Attachments) > 0
	})
	// The report endpoint takes a second a report: most are still queued.
	if err := bot.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := bot.Wait(); err != nil {
		t.Fatalf("bot exit: %v\n%s", err, logs.String())
	}
	md.CheckReports(t, 3, logs.String())
}
