package browser

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func chapterServer(t testing.TB) *httptest.Server {
	t.Helper()
	return readerServer(t, map[string]http.HandlerFunc{
		"/chapter": serveHTML(`<!doctype html><div id="r"></div><script>
fetch('/api/pages.json').then(r => r.json()).then(d => { for (const u of d) {
	const i = document.createElement('img'); i.src = u; document.getElementById('r').appendChild(i); } });
</script>`),
		"/api/pages.json": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`["/img/1.png","/img/2.png"]`))
		},
	})
}

// Close kills every Chromium process and removes the profile.
func TestCloseLeavesNoProcess(t *testing.T) {
	srv := chapterServer(t)
	r := newResolver(t, Options{})
	if r.inst != nil {
		t.Fatal("browser started before first use")
	}
	mustResolve(t, r, srv.URL+"/chapter")
	dir, pid := r.inst.dir, r.inst.pid()
	procs := browserProcesses(pid, dir)
	if len(procs) < 3 { // the browser, zygotes, the network service...
		t.Fatalf("found %d chromium processes, want the whole tree", len(procs))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		// Gone, or dead and waiting to be reaped by init.
		if _, state, ok := procStat(p); ok && state != 'Z' && state != 'X' {
			t.Errorf("chromium process %d still runs after Close (state %c)", p, state)
		}
	}
	// Nor any other process of its group or profile (the crash handler
	// runs outside the group, with its database in the profile).
	if left := browserProcesses(pid, dir); len(left) != 0 {
		t.Errorf("chromium processes %v still run", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("profile %s not removed: %v", dir, err)
	}
	if _, err := r.Resolve(t.Context(), srv.URL+"/chapter"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Resolve after Close: %v", err)
	}
}

// A browser that dies is replaced on the next render.
func TestRestartAfterCrash(t *testing.T) {
	srv := chapterServer(t)
	r := newResolver(t, Options{})
	mustResolve(t, r, srv.URL+"/chapter")
	old := r.inst
	if err := syscall.Kill(old.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-old.ctx.Done() // chromedp notices the lost connection
	res, err := r.Resolve(t.Context(), srv.URL+"/chapter")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || r.inst == old || r.inst.pid() == old.pid() {
		t.Fatalf("images %q; new instance %v", res.Images, r.inst != old)
	}
	if _, err := os.Stat(old.dir); !os.IsNotExist(err) {
		t.Errorf("profile of the dead browser not removed: %v", err)
	}
}

// Without Chromium the error is one line telling what to do.
func TestNotInstalled(t *testing.T) {
	r := New(Options{Path: "/nonexistent/chromium"})
	defer r.Close()
	_, err := r.Resolve(t.Context(), "http://example.invalid/chapter")
	var ni *NotInstalledError
	if !errors.As(err, &ni) || !strings.Contains(err.Error(), "install chromium") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	if r.Available() == nil {
		t.Fatal("Available reports a missing binary as present")
	}
}

// No more than MaxTabs renders run at once; the observer sees each.
func TestMaxTabs(t *testing.T) {
	srv := chapterServer(t)
	obs := &countObserver{}
	r := newResolver(t, Options{MaxTabs: 2, Observer: obs})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			_, err := r.Resolve(t.Context(), srv.URL+"/chapter")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.started != 5 || obs.finished != 5 || obs.failed != 0 || obs.maxTabs != 2 || obs.tabs != 0 {
		t.Fatalf("observer %+v", obs)
	}
}

type countObserver struct {
	mu                        sync.Mutex
	started, finished, failed int
	tabs, maxTabs             int
}

func (o *countObserver) RenderStarted() { o.mu.Lock(); o.started++; o.mu.Unlock() }
func (o *countObserver) RenderFinished(err error, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finished++
	if err != nil {
		o.failed++
	}
}
func (o *countObserver) TabsInUse(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tabs = n
	o.maxTabs = max(o.maxTabs, n)
}

// A Chromium that cannot start (here a script that fails as Chromium does
// without a usable sandbox): the error carries its last words, and the
// profile is removed.
func TestStartFailureSaysWhy(t *testing.T) {
	bin := t.TempDir() + "/chromium"
	script := "#!/bin/sh\necho '[0101/000000.000:FATAL:zygote_host_impl_linux.cc(127)] No usable sandbox!' >&2\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before, _ := filepath.Glob(os.TempDir() + "/mangabot-chromium-*")
	r := New(Options{Path: bin})
	defer r.Close()
	_, err := r.Resolve(t.Context(), "http://127.0.0.1:1/chapter")
	if err == nil || !strings.Contains(err.Error(), "No usable sandbox!") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	after, _ := filepath.Glob(os.TempDir() + "/mangabot-chromium-*")
	if len(after) > len(before) {
		t.Fatalf("profiles left behind: %v", after)
	}
}
