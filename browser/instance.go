package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// instance is one running Chromium: its process group, its temporary
// profile and the chromedp contexts that drive it.
type instance struct {
	dir       string // --user-data-dir, removed by close
	userAgent string // Chromium's own, plus Options.UserAgent

	allocCancel   context.CancelFunc
	ctx           context.Context // the browser's chromedp context
	browserCancel context.CancelFunc

	mu  sync.Mutex
	cmd *exec.Cmd // set by the allocator before Start

	closeOnce sync.Once
	closeErr  error
}

// flags returns Chromium's command line, less what chromedp adds itself
// (--remote-debugging-pipe, --user-data-dir, about:blank).
func flags(bin, dir, proxyAddr string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// /dev/shm is 64 MiB in containers: renderers crash on large pages.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// No traffic of the browser's own (updates, sync, field trials),
		// and nothing that survives the profile.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 1600),
		// Every connection through the guarded proxy, loopback included
		// (Chromium bypasses proxies for loopback unless told not to).
		chromedp.ProxyServer("http://" + proxyAddr),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		// WebRTC would send UDP (STUN, TURN, peers) past the proxy, to any
		// address a page names: only what can go through the proxy.
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		// The sandbox cannot start as root (Chromium refuses to run), so
		// only then is it turned off; as any other user the renderers stay
		// sandboxed. Run the bot as a non-root user to keep it.
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
		// Chromium's crash handler keeps its database under the config
		// home and leaves the process group: both into the profile, which
		// is removed, and where killTree finds it.
		chromedp.Env("XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache")),
	}
}

// startTimeout bounds the start of Chromium (a cold start on a busy
// machine takes a few seconds).
const startTimeout = 30 * time.Second

// startInstance starts Chromium and waits until it answers.
func startInstance(ctx context.Context, bin, proxyAddr string, opts Options) (*instance, error) {
	removeStaleProfiles(os.TempDir())
	dir, err := os.MkdirTemp("", profilePrefix)
	if err != nil {
		return nil, fmt.Errorf("start browser: %w", err)
	}
	inst := &instance{dir: dir}
	out := &tailBuffer{}
	allocOpts := append(flags(bin, dir, proxyAddr), chromedp.CombinedOutput(out), chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
		// Its own process group, so close can kill every process Chromium
		// started at once; SIGKILL when our thread dies, so a crash of the
		// bot leaves no browser behind.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		inst.mu.Lock()
		inst.cmd = cmd
		inst.mu.Unlock()
	}))
	// The browser outlives the render that starts it: its contexts hang off
	// Background, and close ends them.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	inst.allocCancel = allocCancel
	inst.ctx, inst.browserCancel = chromedp.NewContext(allocCtx,
		chromedp.WithErrorf(func(string, ...any) {}), chromedp.WithLogf(func(string, ...any) {}))

	// The first command starts the process, which chromedp ties to the
	// context of that command: it must be the browser's own, not one
	// that ends with this call. The wait is bounded from outside.
	type started struct {
		v   cdpbrowser.GetVersionResult
		err error
	}
	done := make(chan started, 1)
	go func() {
		v, err := chromedp.CallBrowser(inst.ctx, cdpbrowser.GetVersion, cdp.Empty{})
		if err == nil {
			// No downloads to disk, whatever a page offers.
			_, err = chromedp.CallBrowser(inst.ctx, cdpbrowser.SetDownloadBehavior,
				cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny})
		}
		done <- started{v, err}
	}()
	var st started
	select {
	case st = <-done:
	case <-ctx.Done():
		st.err = ctx.Err()
	case <-time.After(startTimeout):
		st.err = fmt.Errorf("no answer within %s", startTimeout)
	}
	if st.err != nil {
		inst.close()
		// One line: chromedp's error may quote Chromium's whole output;
		// its last line says why it stopped (e.g. "No usable sandbox!").
		msg, _, _ := strings.Cut(st.err.Error(), "\n")
		if line := out.lastLine(); line != "" {
			return nil, fmt.Errorf("start browser %s: %s (chromium: %s)", bin, strings.TrimSpace(msg), line)
		}
		return nil, fmt.Errorf("start browser %s: %w", bin, st.err)
	}
	v := st.v
	inst.userAgent = strings.TrimSpace(v.UserAgent + " " + opts.UserAgent)
	return inst, nil
}

// alive reports whether the browser still answers: chromedp cancels the
// browser context when the connection is lost (a crash, a kill).
func (in *instance) alive() bool { return in.ctx.Err() == nil }

func (in *instance) pid() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil || in.cmd.Process == nil {
		return 0
	}
	return in.cmd.Process.Pid
}

// close kills the whole process group, then whatever else still runs
// with this profile, and removes the profile.
func (in *instance) close() error {
	in.closeOnce.Do(func() {
		pid := in.pid()
		if pid > 0 {
			// Negative pid: the group. SIGKILL, because a graceful
			// shutdown can hang on a busy renderer.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		in.browserCancel()
		in.allocCancel() // waits for the main process
		killTree(pid, in.dir)
		in.closeErr = removeProfile(in.dir)
	})
	return in.closeErr
}

// removeProfile removes dir; a child killed a moment ago may still be
// writing in it, so it tries a few times.
func removeProfile(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("remove browser profile: %w", err)
}

// tailBuffer keeps the last KiB of Chromium's output, to explain a failed
// start.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 1024 {
		t.b = append(t.b[:0], t.b[len(t.b)-1024:]...)
	}
	return len(p), nil
}

// lastLine returns the last non-empty line written.
func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
