package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary, as a user would, against a fake manga
// site on loopback.

var botBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mangabot-bin-")
	if err != nil {
		panic(err)
	}
	botBin = filepath.Join(dir, "bot")
	out, err := exec.Command("go", "build", "-o", botBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: .ci/run must install it", name)
		}
		t.Skipf("%s not installed", name)
	}
}

func jpegBytes(t *testing.T, w, h int, seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed * 3, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// site is a fake gallery: /chapter lists n images; /img/N serves them.
type site struct {
	*httptest.Server
	pages    [][]byte
	fail     map[int]int // page -> status to answer
	block    chan struct{}
	requests atomic.Int64
	third    chan struct{} // closed by the third image request
	mu       sync.Mutex
	seen     []string
}

func newSite(t *testing.T, n int) *site {
	s := &site{fail: map[int]int{}, third: make(chan struct{})}
	for i := 0; i < n; i++ {
		if i%3 == 2 {
			s.pages = append(s.pages, pngBytes(t, 60, 90))
		} else {
			s.pages = append(s.pages, jpegBytes(t, 60, 90, uint8(i)))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<html><head><title>Test Series Chapter 3</title></head><body><header><img src="/logo.png" width="40" height="20"></header><div id="reader">`)
		for i := range s.pages {
			fmt.Fprintf(&b, `<img src="/img/%d">`, i)
		}
		b.WriteString(`</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Nothing</title></head><body><p>This reader moved.</p></body></html>`)
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		if s.requests.Add(1) == 3 {
			close(s.third)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/img/"))
		if err != nil || i >= len(s.pages) {
			http.NotFound(w, r)
			return
		}
		if s.block != nil && i >= 2 {
			select {
			case <-s.block:
			case <-r.Context().Done():
				return
			}
		}
		if code := s.fail[i]; code != 0 {
			http.Error(w, "no", code)
			return
		}
		w.Write(s.pages[i])
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func writeConfig(t *testing.T, extra string) string {
	p := filepath.Join(t.TempDir(), "config.toml")
	body := "[download]\nallow_networks = [\"127.0.0.0/8\", \"::1/128\"]\nretries = 1\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

// botEnv is the environment the binary runs with: built from scratch, so
// that DISCORD_TOKEN or MANGABOT_* variables set where the tests run do not
// change what is tested. Only what a process needs to run is passed on,
// plus GOCOVERDIR for coverage of an instrumented binary.
func botEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// botCommand is the binary with args, in a clean environment and an empty
// working directory of its own (so no ./config.toml is picked up).
func botCommand(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, botBin, args...)
	cmd.Env = botEnv()
	cmd.Dir = t.TempDir()
	return cmd
}

func run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	cmd := botCommand(t, ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func pdfPages(t *testing.T, path string) int {
	t.Helper()
	needTool(t, "qpdf")
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", path, err, out)
	}
	out, err := exec.Command("qpdf", "--show-npages", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func dirEntries(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchWritesPDF(t *testing.T) {
	s := newSite(t, 7)
	cfg := writeConfig(t, "")
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1 || filepath.Dir(lines[0]) != out || filepath.Ext(lines[0]) != ".pdf" {
		t.Fatalf("stdout should be the one written path, got %q", r.stdout)
	}
	if n := pdfPages(t, lines[0]); n != 7 {
		t.Fatalf("pages: %d, want 7", n)
	}
	if names := dirEntries(t, out); len(names) != 1 {
		t.Fatalf("output dir should hold only the PDF: %v", names)
	}
	if got := s.requests.Load(); got != 7 {
		t.Errorf("site saw %d image requests, want 7 (the logo is a decoy)", got)
	}
}

func TestFetchNamedFileAndFailedPage(t *testing.T) {
	s := newSite(t, 5)
	s.fail[3] = http.StatusNotFound
	cfg := writeConfig(t, "[output]\nplaceholders = false\n")
	out := filepath.Join(t.TempDir(), "mine.pdf")
	r := run(t, context.Background(), "fetch", s.URL+"/chapter", "-config", cfg, "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.TrimSpace(r.stdout) != out {
		t.Fatalf("stdout %q, want %q", r.stdout, out)
	}
	if !regexp.MustCompile(`page 4 failed: .*404`).MatchString(r.stderr) {
		t.Errorf("stderr should name the failed page and reason:\n%s", r.stderr)
	}
	if n := pdfPages(t, out); n != 4 {
		t.Fatalf("pages: %d, want the 4 good ones", n)
	}
}

func TestFetchPlaceholderPage(t *testing.T) {
	s := newSite(t, 4)
	s.fail[1] = http.StatusNotFound
	cfg := writeConfig(t, "[output]\nplaceholders = true\n")
	out := filepath.Join(t.TempDir(), "p.pdf")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := pdfPages(t, out); n != 4 {
		t.Fatalf("pages: %d, want 4 (3 + a placeholder)", n)
	}
	needTool(t, "pdftotext")
	txt, err := exec.Command("pdftotext", "-f", "2", "-l", "2", out, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), "Page 2") {
		t.Errorf("placeholder page should say which page is missing, got %q", txt)
	}
}

// Every failure: exit non-zero, one line on stderr, nothing on stdout,
// nothing left in the output directory.
func TestFetchFailuresAreOneLine(t *testing.T) {
	s := newSite(t, 3)
	allFail := newSite(t, 3)
	for i := 0; i < 3; i++ {
		allFail.fail[i] = http.StatusNotFound
	}
	cfg := writeConfig(t, "")
	blocked := filepath.Join(t.TempDir(), "blocked.toml")
	os.WriteFile(blocked, []byte("[download]\nretries = 0\n"), 0o600)
	for _, tc := range []struct {
		name, cfg, url, want string
	}{
		{"not a link", cfg, "chapter-12", "not a link"},
		{"ftp", cfg, "ftp://example.org/x", "not a link"},
		{"no images", cfg, s.URL + "/empty", "site layout not recognised"},
		{"all pages failed", cfg, allFail.URL + "/chapter", "failed"},
		{"blocked address", blocked, s.URL + "/chapter", "blocked address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := run(t, context.Background(), "fetch", "-config", tc.cfg, "-o", out, tc.url)
			if r.code == 0 {
				t.Fatalf("exit 0, stderr %s", r.stderr)
			}
			last := strings.Split(strings.TrimSpace(r.stderr), "\n")
			line := last[len(last)-1]
			if !strings.HasPrefix(line, "bot: ") || !strings.Contains(line, tc.want) {
				t.Errorf("last stderr line %q should be one clear error with %q", line, tc.want)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty, got %q", r.stdout)
			}
			if names := dirEntries(t, out); len(names) != 0 {
				t.Errorf("output dir not empty: %v", names)
			}
		})
	}
}

// SIGINT mid-download: requests stop, nothing is left behind.
func TestFetchInterruptLeavesNothing(t *testing.T) {
	s := newSite(t, 12)
	s.block = make(chan struct{})
	defer close(s.block)
	cfg := writeConfig(t, "")
	out := t.TempDir()
	cmd := botCommand(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Wait until pages are in flight (pages 0 and 1 are served, the rest
	// block): the site signals its third request. A fetch that exits
	// before then fails the test instead of leaving it waiting.
	select {
	case <-s.third:
	case err := <-done:
		t.Fatalf("fetch exited (%v) before its downloads were in flight: %s", err, errb.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("interrupted fetch exited 0")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("fetch did not stop after SIGINT")
	}
	if !strings.Contains(errb.String(), "cancelled") {
		t.Errorf("stderr should say cancelled: %s", errb.String())
	}
	if names := dirEntries(t, out); len(names) != 0 {
		t.Errorf("output dir not empty after interrupt: %v", names)
	}
}

func TestSitesAndUsage(t *testing.T) {
	r := run(t, context.Background(), "sites")
	if r.code != 0 || !strings.Contains(r.stdout, "generic") {
		t.Fatalf("sites: %d %q", r.code, r.stdout)
	}
	r = run(t, context.Background(), "fetch")
	if r.code != 2 || !strings.Contains(r.stderr, "usage") {
		t.Fatalf("fetch without URL: %d %q", r.code, r.stderr)
	}
	r = run(t, context.Background(), "frobnicate")
	if r.code != 2 {
		t.Fatalf("unknown command: %d", r.code)
	}
	r = run(t, context.Background(), "fetch", "-config", "/nonexistent/c.toml", "https://example.org/")
	if r.code == 0 || !strings.Contains(r.stderr, "config") {
		t.Fatalf("missing config: %d %q", r.code, r.stderr)
	}
}

func TestFetchCreatesOutputDir(t *testing.T) {
	s := newSite(t, 2)
	cfg := writeConfig(t, "")
	out := filepath.Join(t.TempDir(), "new", "dir")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 || filepath.Dir(strings.TrimSpace(r.stdout)) != out {
		t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	gone := filepath.Join(t.TempDir(), "never")
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", filepath.Join(gone, "sub"), s.URL+"/empty")
	if r.code == 0 {
		t.Fatal("empty page succeeded")
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("failed fetch left the directory it created: %v", err)
	}
}

func TestSitesListsOperatorRules(t *testing.T) {
	cfg := writeConfig(t, "[[sites.generic.rules]]\nhost = \"reader.example.org\"\nselector = \"#pages img\"\n")
	r := run(t, context.Background(), "sites", "-config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "reader.example.org") || !strings.Contains(r.stdout, "mangadex.org/chapter") || !strings.Contains(r.stdout, "webtoons.com") {
		t.Fatalf("sites: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
