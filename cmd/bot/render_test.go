package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
)

// scriptedReader is a reader that needs a browser: the first answer is a
// challenge that sets a cookie by script and reloads; the chapter page
// then fetches its list from /api/pages.json and inserts the images,
// which live on a separate CDN server that wants the cookie, the chapter
// page as Referer and the User-Agent that passed the challenge.
type scriptedReader struct {
	reader, cdn *httptest.Server
	pages       [][]byte

	mu        sync.Mutex
	passUA    string // User-Agent that passed the challenge
	fetched   int    // images the CDN served to the fetcher (full Referer)
	refusedBy []string
}

func newScriptedReader(t *testing.T, n int) *scriptedReader {
	s := &scriptedReader{}
	for i := range n {
		s.pages = append(s.pages, jpegBytes(t, 60, 90, uint8(i)))
	}
	s.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/img/"))
		if err != nil || i >= len(s.pages) {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c, _ := r.Cookie("pass")
		switch {
		case r.Referer() != s.reader.URL+"/chapter":
			// The browser's own loads send only the origin: refused
			// like any hotlink.
			s.refusedBy = append(s.refusedBy, "referer "+r.Referer())
			http.Error(w, "hotlink", http.StatusForbidden)
		case c == nil || c.Value != "ok":
			s.refusedBy = append(s.refusedBy, "no cookie")
			http.Error(w, "no cookie", http.StatusForbidden)
		case r.UserAgent() != s.passUA:
			s.refusedBy = append(s.refusedBy, "user agent "+r.UserAgent())
			http.Error(w, "other browser", http.StatusForbidden)
		default:
			s.fetched++
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(s.pages[i])
		}
	}))
	t.Cleanup(s.cdn.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if c, err := r.Cookie("pass"); err != nil || c.Value != "ok" {
			fmt.Fprint(w, `<html><head><title>Just a moment</title></head><body><p>Checking your browser</p>
<script>setTimeout(() => { document.cookie = "pass=ok; path=/"; location.reload(); }, 100);</script></body></html>`)
			return
		}
		s.mu.Lock()
		s.passUA = r.UserAgent()
		s.mu.Unlock()
		fmt.Fprint(w, `<html><head><title>Scripted Series Chapter 7</title></head><body>
<header><img class="logo" src="/logo.png" width="40" height="20"></header>
<div id="reader"></div>
<script>
fetch('/api/pages.json').then(r => r.json()).then(d => {
	for (const u of d.images) {
		const img = document.createElement('img');
		img.src = u;
		document.getElementById('reader').appendChild(img);
	}
});
</script></body></html>`)
	})
	mux.HandleFunc("/api/pages.json", func(w http.ResponseWriter, r *http.Request) {
		var urls []string
		for i := range s.pages {
			urls = append(urls, strconv.Quote(fmt.Sprintf("%s/img/%d", s.cdn.URL, i)))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"images":[%s]}`, strings.Join(urls, ","))
	})
	mux.HandleFunc("/logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(t, 40, 20))
	})
	s.reader = httptest.NewServer(mux)
	t.Cleanup(s.reader.Close)
	return s
}

// renderConfig: the browser on, and a generic rule that renders the
// reader's host.
const renderConfig = `[browser]
enabled = true
quiet_period = "500ms"

[[sites.generic.rules]]
host = "127.0.0.1"
selector = "#reader img"
render = true
`

// bot fetch through a render rule: the PDF holds the script-inserted
// pages, fetched by the fetcher with the browser's cookie and User-Agent
// and the page as Referer; when it exits no Chromium process is left and
// its profile is gone.
func TestFetchRenderRule(t *testing.T) {
	needTool(t, "chromium")
	s := newScriptedReader(t, 4)
	cfg := writeConfig(t, renderConfig)
	out := t.TempDir()
	tmp := t.TempDir() // the browser's profile goes here
	cmd := botCommand(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.reader.URL+"/chapter")
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fetch: %v\n%s", err, stderr.String())
	}
	path := strings.TrimSpace(stdout.String())
	if n := pdfPages(t, path); n != 4 {
		t.Fatalf("pages: %d, want 4", n)
	}
	if !strings.Contains(filepath.Base(path), "Scripted Series") {
		t.Errorf("file name %q should come from the rendered page's title", path)
	}
	s.mu.Lock()
	if s.fetched != 4 || !strings.Contains(s.passUA, "Chrome/") || !strings.Contains(s.passUA, "mangabot/") {
		t.Errorf("CDN served %d images to the fetcher (refused: %q); challenge passed by %q", s.fetched, s.refusedBy, s.passUA)
	}
	s.mu.Unlock()
	if left, _ := filepath.Glob(filepath.Join(tmp, "mangabot-chromium-*")); len(left) != 0 {
		t.Errorf("browser profile left behind: %v", left)
	}
	if procs := processesMentioning(t, tmp); len(procs) != 0 {
		t.Errorf("chromium processes still run after bot fetch exited: %v", procs)
	}
}

// Without a browser, the CLI still runs, and a page that needs one fails
// with one line saying what to do.
func TestFetchRenderWithoutBrowser(t *testing.T) {
	s := newScriptedReader(t, 2)
	for _, tc := range []struct{ name, extra, want string }{
		{"browser off", strings.Replace(renderConfig, "enabled = true", "enabled = false", 1), "set [browser] enabled = true"},
		{"no chromium", strings.Replace(renderConfig, "enabled = true", "enabled = true\npath = \"/nonexistent/chromium\"", 1), "install chromium or fix the path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := run(t, context.Background(), "fetch", "-config", writeConfig(t, tc.extra), "-o", out, s.reader.URL+"/chapter")
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if last := lines[len(lines)-1]; r.code == 0 || !strings.HasPrefix(last, "bot: ") || !strings.Contains(last, tc.want) {
				t.Fatalf("exit %d, last line %q; want one line with %q", r.code, last, tc.want)
			}
			if names := dirEntries(t, out); len(names) != 0 || r.stdout != "" {
				t.Errorf("wrote %v / %q", names, r.stdout)
			}
		})
	}
}

// With [browser] auto and no rule, a page whose HTML shows no images but
// carries scripts is rendered and read with the gallery heuristic (the
// logo stays out).
func TestFetchAutoRender(t *testing.T) {
	needTool(t, "chromium")
	s := newScriptedReader(t, 3)
	auto := "[browser]\nenabled = true\nauto = true\nquiet_period = \"500ms\"\n"
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", writeConfig(t, auto), "-o", out, s.reader.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := pdfPages(t, strings.TrimSpace(r.stdout)); n != 3 {
		t.Fatalf("pages: %d, want 3", n)
	}
	// Without auto the same page has no images to offer.
	r = run(t, context.Background(), "fetch", "-config", writeConfig(t, ""), "-o", out, s.reader.URL+"/chapter")
	if r.code == 0 || !strings.Contains(r.stderr, "no chapter images") {
		t.Fatalf("without auto: exit %d: %s", r.code, r.stderr)
	}
}

// processesMentioning lists the live processes whose command line holds s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			out = append(out, e.Name())
		}
	}
	return out
}

// The bot renders a script-built chapter for a Discord request, delivers
// it, and when stopped (SIGTERM) leaves no Chromium process and no
// profile behind.
func TestRunRenderThenShutdown(t *testing.T) {
	needTool(t, "chromium")
	needTool(t, "qpdf")
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	s := newScriptedReader(t, 3)
	dir := t.TempDir()
	tmp := t.TempDir()
	cfg := botConfig(t, "render-bot-token-0123456789", fd.URL, dir, renderConfig)
	var logs testtool.LogBuffer
	bot := startBot(t, cfg, &logs, "TMPDIR="+tmp)
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	tok := dispatchDownload(t, fd, "u1", s.reader.URL+"/chapter")
	waitFake(t, fd, "delivery", func() bool {
		m := fd.Original(tok)
		return m != nil && len(m.Attachments) == 1
	})
	pdf := filepath.Join(dir, "delivered.pdf")
	if err := os.WriteFile(pdf, fd.Original(tok).Attachments[0].Data(), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := pdfPages(t, pdf); n != 3 {
		t.Fatalf("delivered PDF has %d pages, want 3", n)
	}
	if procs := processesMentioning(t, tmp); len(procs) == 0 {
		t.Fatal("no Chromium runs for the bot after a render")
	}
	if err := bot.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := bot.Wait(); err != nil {
		t.Fatalf("bot exit: %v\n%s", err, logs.String())
	}
	if procs := processesMentioning(t, tmp); len(procs) != 0 {
		t.Errorf("chromium processes %v still run after the bot stopped", procs)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "mangabot-chromium-*")); len(left) != 0 {
		t.Errorf("browser profile left behind: %v", left)
	}
}
