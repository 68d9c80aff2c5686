package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
)

// chapterSite serves /c/N (pages images each) and /img/N/P; images of
// chapter 0 wait until release is closed.
type chapterSite struct {
	*httptest.Server
	release chan struct{}
	mu      sync.Mutex
	held    int // chapter 0 requests waiting
}

func newChapterSite(t *testing.T, pages int) *chapterSite {
	s := &chapterSite{release: make(chan struct{})}
	img := jpegBytes(t, 50, 70, 9)
	mux := http.NewServeMux()
	mux.HandleFunc("/c/{n}", func(w http.ResponseWriter, r *http.Request) {
		n := r.PathValue("n")
		fmt.Fprintf(w, `<html><head><title>Cluster Series Chapter %s</title></head><body><div id="reader">`, n)
		for i := range pages {
			fmt.Fprintf(w, `<img src="/img/%s/%d">`, n, i)
		}
		fmt.Fprint(w, `</div></body></html>`)
	})
	mux.HandleFunc("/img/{n}/{p}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("n") == "0" {
			s.mu.Lock()
			s.held++
			s.mu.Unlock()
			defer func() { s.mu.Lock(); s.held--; s.mu.Unlock() }()
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *chapterSite) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// startRole starts `bot run -role role`.
func startRole(t *testing.T, cfg string, logs *testtool.LogBuffer, role string) *exec.Cmd {
	t.Helper()
	return startBotArgs(t, []string{"run", "-config", cfg, "-role", role}, logs)
}

// The real binary as one gateway and three workers on an embedded NATS
// and the fake Discord: 30 jobs. One worker is killed (SIGKILL) in the
// middle of a job and the gateway is killed and restarted mid-run with
// another disk; every job is delivered exactly once.
func TestClusterRoles(t *testing.T) {
	natsURL := natstest.Start(t, "", -1).ClientURL()
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	site := newChapterSite(t, 3)
	dir := t.TempDir()
	common := fmt.Sprintf(`rate = 1000.0
burst = 100
[discord]
token = "cluster-bot-token-0123456789"
api_url = %q
guild_ids = ["g1"]
[cluster]
nats_url = %q
ack_wait = "2s"
[log]
level = "debug"
`, fd.URL, natsURL)
	gwConfig := func(name string) string {
		return writeConfig(t, common+fmt.Sprintf(`[bot]
max_jobs = 40
max_queued_per_user = 40
max_queued_per_guild = 40
edit_interval = "50ms"
[output]
dir = %q
metrics_listen = ""
[storage]
path = %q
`, filepath.Join(dir, name), filepath.Join(dir, name, "mangabot.db")))
	}
	gwCfg := gwConfig("gw")
	var gwLogs testtool.LogBuffer
	gw := startRole(t, gwCfg, &gwLogs, "gateway")
	workers := make([]*os.Process, 3)
	wlogs := make([]*testtool.LogBuffer, 3)
	for i := range workers {
		cfg := writeConfig(t, common+fmt.Sprintf("[bot]\nmax_jobs = 3\n[output]\ndir = %q\nmetrics_listen = \"\"\n", filepath.Join(dir, fmt.Sprint("w", i))))
		wlogs[i] = &testtool.LogBuffer{}
		workers[i] = startRole(t, cfg, wlogs[i], "worker").Process
	}
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })

	// Job 0 hangs on its images; the worker running it is killed.
	toks := []string{dispatchDownload(t, fd, "u0", site.URL+"/c/0")}
	waitFake(t, fd, "job 0 fetching", func() bool { return site.waiting() > 0 })
	idm := regexp.MustCompile(`job ([0-9a-f]{10})`).FindStringSubmatch(embedText(fd.Original(toks[0])))
	if idm == nil {
		t.Fatalf("no job id in %s", embedText(fd.Original(toks[0])))
	}
	killed := -1
	for i, l := range wlogs {
		if strings.Contains(l.String(), "job="+idm[1]) {
			killed = i
		}
	}
	if killed < 0 {
		t.Fatalf("no worker logged job %s", idm[1])
	}
	workers[killed].Signal(syscall.SIGKILL)
	for i := 1; i < 30; i++ {
		toks = append(toks, dispatchDownload(t, fd, fmt.Sprint("u", i), fmt.Sprintf("%s/c/%d", site.URL, i)))
	}
	// The gateway dies mid-run and comes back. Every request was answered
	// by then (a job is stored before its status response goes out; one
	// killed before it answers is lost like any unanswered interaction).
	for i, tok := range toks {
		waitFake(t, fd, fmt.Sprintf("status %d shown", i), func() bool { return fd.Original(tok) != nil })
	}
	waitFake(t, fd, "some deliveries", func() bool { return len(attachments(fd, toks)) >= 5 })
	gw.Process.Signal(syscall.SIGKILL)
	gw.Wait()
	close(site.release)
	// It comes back as on another machine, with none of the first one's
	// disk: the jobs it resumes are in NATS KV.
	startRole(t, gwConfig("gw-elsewhere"), &gwLogs, "gateway")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("delivered: %v\ngateway log:\n%s", attachments(fd, toks), gwLogs.String())
		}
	})
	waitFake(t, fd, "30 deliveries", func() bool { return len(attachments(fd, toks)) >= 30 })
	time.Sleep(500 * time.Millisecond) // a duplicate would show up now
	got := attachments(fd, toks)
	seen := map[string]int{}
	for _, name := range got {
		seen[name]++
	}
	for i := range 30 {
		if n := seen[fmt.Sprintf("Cluster Series - Ch.%d.pdf", i)]; n != 1 {
			t.Errorf("chapter %d delivered %d times", i, n)
		}
	}
	// Every status message ends as done, those the killed gateway left
	// behind included (edited by the restarted one).
	for i, tok := range toks {
		waitFake(t, fd, fmt.Sprintf("status %d done", i), func() bool {
			return strings.Contains(embedText(fd.Original(tok)), "Done")
		})
	}
	if len(got) != 30 {
		t.Errorf("%d files delivered, want 30", len(got))
	}
	if strings.Contains(gwLogs.String(), "cluster-bot-token") {
		t.Error("the token reached the log")
	}
}

// A gateway started with -shard-id/-shard-count identifies as that shard.
func TestGatewayShard(t *testing.T) {
	natsURL := natstest.Start(t, "", -1).ClientURL()
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	cfg := writeConfig(t, fmt.Sprintf("[discord]\ntoken = \"shard-token-0123456789\"\napi_url = %q\nguild_ids = [\"g1\"]\n[cluster]\nnats_url = %q\n[output]\ndir = %q\nmetrics_listen = \"\"\n[storage]\npath = %q\n",
		fd.URL, natsURL, t.TempDir(), filepath.Join(t.TempDir(), "db")))
	var logs testtool.LogBuffer
	startBotArgs(t, []string{"run", "-config", cfg, "-role", "gateway", "-shard-id", "1", "-shard-count", "3"}, &logs)
	waitFake(t, fd, "identify", func() bool { return fd.Identified() > 0 })
	if ids := fd.Identifies(); len(ids[0].Shard) != 2 || ids[0].Shard[0] != 1 || ids[0].Shard[1] != 3 {
		t.Fatalf("identify shard %v, want [1 3]", ids[0].Shard)
	}
}

// attachments lists the file names delivered: on the interactions'
// responses, their follow-ups and channel messages.
func attachments(fd *fakediscord.Server, toks []string) []string {
	var names []string
	add := func(m *fakediscord.Message) {
		for _, a := range m.Attachments {
			names = append(names, a.Filename)
		}
	}
	for _, tok := range toks {
		if m := fd.Original(tok); m != nil {
			add(m)
		}
		for _, m := range fd.Followups(tok) {
			add(&m)
		}
	}
	for _, m := range fd.ChannelMessages() {
		add(&m)
	}
	return names
}

// Role flags that cannot work are refused with one line, before anything
// starts.
func TestRoleFlags(t *testing.T) {
	withNATS := writeConfig(t, "[cluster]\nnats_url = \"nats://127.0.0.1:1\"\n")
	plain := writeConfig(t, "")
	for _, c := range []struct {
		cfg  string
		args []string
		want string
	}{
		{plain, []string{"-role", "worker"}, "-role worker needs [cluster] nats_url"},
		{plain, []string{"-role", "boss"}, `unknown -role "boss"`},
		{withNATS, nil, "run with -role gateway or -role worker"},
		{plain, []string{"-shard-id", "2", "-shard-count", "2"}, "-shard-id 2 must be below -shard-count 2"},
	} {
		r := run(t, context.Background(), append([]string{"run", "-config", c.cfg}, c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// A worker's /healthz fails while NATS is unreachable and recovers when
// it is back.
func TestWorkerHealth(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Start(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, fmt.Sprintf("[cluster]\nnats_url = %q\n[output]\ndir = %q\nmetrics_listen = %q\n", ns.ClientURL(), filepath.Join(dir, "out"), addr))
	var logs testtool.LogBuffer
	startRole(t, cfg, &logs, "worker")
	health := func() int {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for health() != want {
			if time.Now().After(deadline) {
				t.Fatalf("/healthz never answered %d; log:\n%s", want, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitStatus(http.StatusOK)
	ns.Shutdown()
	waitStatus(http.StatusServiceUnavailable)
	natstest.Start(t, dir, port)
	waitStatus(http.StatusOK)
}

// A worker reaches a NATS server with TLS (its own CA) and a password
// from MANGABOT_CLUSTER_PASSWORD; a wrong password is one line and exit
// 1; the password is in neither log.
func TestWorkerNATSSecured(t *testing.T) {
	const secret = "w0rker-Secret-pw"
	ca := natstest.NewCA(t)
	ns := natstest.StartOpts(t, natstest.Options{TLS: ca, User: "mangabot", Password: secret})
	cfg := writeConfig(t, fmt.Sprintf("[cluster]\nnats_url = %q\nuser = \"mangabot\"\ntls_ca = %q\n[output]\ndir = %q\nmetrics_listen = \"\"\n[log]\nlevel = \"debug\"\n",
		ns.ClientURL(), ca.CertFile, t.TempDir()))
	var bad testtool.LogBuffer
	cmd := startBotArgs(t, []string{"run", "-config", cfg, "-role", "worker"}, &bad, "MANGABOT_CLUSTER_PASSWORD=not-"+secret)
	cmd.Wait()
	want := "bot: connect to nats: nats: Authorization Violation (check [cluster] user and password, or creds_file)\n"
	if code := cmd.ProcessState.ExitCode(); code != 1 || bad.String() != want {
		t.Errorf("wrong password: exit %d, output %q; want 1 and %q", code, bad.String(), want)
	}
	var logs testtool.LogBuffer
	cmd = startBotArgs(t, []string{"run", "-config", cfg, "-role", "worker"}, &logs, "MANGABOT_CLUSTER_PASSWORD="+secret)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "worker ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if strings.Contains(logs.String()+bad.String(), secret) {
		t.Errorf("the password reached a log:\n%s", logs.String())
	}
}
