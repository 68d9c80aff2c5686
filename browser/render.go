package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mangabot/mangabot/download"
)

// tick is how often a render scrolls and looks whether the page settled.
const tick = 100 * time.Millisecond

// render loads u in a new tab of its own browser context (own cookies and
// cache, disposed with the tab) and returns what the page shows once
// settled.
func (in *instance) render(ctx context.Context, u *url.URL, guard *download.Guard, opts Options) (*Result, error) {
	tabCtx, closeTab := chromedp.NewContext(in.ctx, chromedp.WithNewBrowserContext())
	// closeTab closes the target and disposes of its browser context; it
	// runs however render ends, cancellation included.
	defer closeTab()
	// Commands run on a child of the tab's context that also ends with the
	// caller's: a cancel interrupts the command in flight at once.
	runCtx, stop := context.WithCancel(tabCtx)
	defer stop()
	defer context.AfterFunc(ctx, stop)()

	t := &tabState{guard: guard, pending: map[network.RequestID]bool{}, last: time.Now()}
	// Listen opens the tab; its target id is also its main frame's id.
	// It listens for the tab's whole life, not the render's: paused
	// requests left unanswered after a timeout would stall the page that
	// is still to be read.
	if err := chromedp.Listen(tabCtx, func(ev any) { t.event(tabCtx, ev) }); err != nil {
		return nil, in.tabErr(ctx, err)
	}
	t.setMainFrame(cdp.FrameID(chromedp.FromContext(tabCtx).Target.TargetID))
	steps := chromedp.Do(runCtx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{
				Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageRequest}},
			}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: in.userAgent})
			return err
		}),
	)
	if steps == nil {
		// Each browser context has its own download behaviour: deny.
		_, steps = chromedp.CallBrowser(runCtx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: chromedp.FromContext(tabCtx).BrowserContextID,
		})
	}
	if steps != nil {
		return nil, in.tabErr(ctx, steps)
	}
	if err := chromedp.Do(runCtx, chromedp.Navigate(u.String())); err != nil {
		if r := t.documentRefusal(); r != nil {
			return nil, fmt.Errorf("page refused: %s", r.Reason)
		}
		// A page whose load event never comes (a hung subresource) is
		// still worth reading when the timeout, not the caller, ended it.
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, in.tabErr(ctx, err)
		}
	}
	settled := in.settle(ctx, runCtx, t, opts.QuietPeriod)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err // cancelled by the caller
	}
	// The timeout may have passed: read the page on a short context of
	// the tab's own.
	readCtx, cancel := context.WithTimeout(tabCtx, 5*time.Second)
	defer cancel()
	res, err := readPage(readCtx)
	if err != nil {
		return nil, in.tabErr(ctx, fmt.Errorf("read page: %w", err))
	}
	res.Settled = settled
	res.Blocked = t.refusals()
	cs, err := cookies(readCtx, append([]string{res.URL}, res.Images...))
	if err != nil {
		return nil, in.tabErr(ctx, fmt.Errorf("read cookies: %w", err))
	}
	res.Cookies = httpCookies(cs)
	return res, nil
}

// tabErr explains a failed command: the caller's cancellation, the render
// timeout, or the browser gone.
func (in *instance) tabErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ctx.Err()
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out: %w", err)
	case !in.alive():
		return fmt.Errorf("browser died: %w", err)
	}
	return err
}

// settle scrolls the page a screen at a time and returns true once it is
// at the bottom and no request has started or ended for quiet; false when
// ctx ends first.
func (in *instance) settle(ctx, runCtx context.Context, t *tabState, quiet time.Duration) bool {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tk.C:
		}
		// Scrolling fires the scroll and intersection events lazy
		// loaders wait for. It fails while a new document loads (a
		// challenge that reloads); the next tick tries again.
		atBottom, err := chromedp.Run(runCtx, chromedp.Evaluate[bool](scrollJS))
		if err != nil {
			t.touch()
			continue
		}
		if !atBottom {
			t.touch()
			continue
		}
		if t.quietFor() >= quiet {
			return true
		}
	}
}

// scrollJS scrolls one screen down and tells whether the bottom was
// already reached.
const scrollJS = `(() => {
	const el = document.scrollingElement || document.documentElement;
	if (!el || document.readyState === 'loading') return false;
	const bottom = window.scrollY + window.innerHeight >= el.scrollHeight - 2;
	if (!bottom) window.scrollBy(0, window.innerHeight);
	return bottom;
})()`

// readJS returns the page's images in document order (each URL once; the
// source the browser picked from srcset when there is one), its HTML, its
// URL and its User-Agent.
const readJS = `(() => {
	const seen = new Set(), images = [];
	for (const img of document.querySelectorAll('img')) {
		const u = img.currentSrc || img.src;
		if (u && /^https?:/i.test(u) && !seen.has(u)) { seen.add(u); images.push(u); }
	}
	return JSON.stringify({url: location.href, images, html: document.documentElement.outerHTML, ua: navigator.userAgent});
})()`

func readPage(ctx context.Context) (*Result, error) {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](readJS))
	if err != nil {
		return nil, err
	}
	var v struct {
		URL    string   `json:"url"`
		Images []string `json:"images"`
		HTML   string   `json:"html"`
		UA     string   `json:"ua"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return &Result{URL: v.URL, Images: v.Images, HTML: v.HTML, UserAgent: v.UA}, nil
}

// tabState follows one tab's requests: those in flight, the time of the
// last start or end, and what the guard refused.
type tabState struct {
	guard *download.Guard

	mu      sync.Mutex
	pending map[network.RequestID]bool
	last    time.Time
	refused []Refusal
	main    cdp.FrameID
	docRef  *Refusal // the refusal of the page itself (main frame document)
}

func (t *tabState) setMainFrame(id cdp.FrameID) {
	t.mu.Lock()
	t.main = id
	t.mu.Unlock()
}

func (t *tabState) touch() {
	t.mu.Lock()
	t.last = time.Now()
	t.mu.Unlock()
}

// quietFor is how long no request has started or ended; 0 while one is in
// flight.
func (t *tabState) quietFor() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) > 0 {
		return 0
	}
	return time.Since(t.last)
}

// tracked: the requests whose end the page waits for before it shows its
// images. Long-lived ones (event streams, websockets) would never settle.
func tracked(rt network.ResourceType) bool {
	switch rt {
	case network.ResourceTypeDocument, network.ResourceTypeScript, network.ResourceTypeXHR,
		network.ResourceTypeFetch, network.ResourceTypeImage, network.ResourceTypeStylesheet:
		return true
	}
	return false
}

// event runs on chromedp's reading goroutine: it only updates state and
// hands paused requests to a goroutine of their own.
func (t *tabState) event(tabCtx context.Context, ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *fetch.EventRequestPaused:
		go t.decide(tabCtx, ev)
	case *network.EventRequestWillBeSent:
		if tracked(ev.Type) {
			t.pending[ev.RequestID] = true
		}
	case *network.EventLoadingFinished:
		delete(t.pending, ev.RequestID)
	case *network.EventLoadingFailed:
		delete(t.pending, ev.RequestID)
	default:
		return
	}
	t.last = time.Now()
}

// decide lets a paused request go on, or fails it when its scheme is not
// http/https or its host resolves to an address the guard refuses.
func (t *tabState) decide(tabCtx context.Context, ev *fetch.EventRequestPaused) {
	err := t.check(tabCtx, ev.Request.URL)
	if err == nil {
		_, _ = chromedp.Call(tabCtx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		return
	}
	r := Refusal{URL: ev.Request.URL, Reason: err.Error()}
	t.mu.Lock()
	t.refused = append(t.refused, r)
	if ev.ResourceType == network.ResourceTypeDocument && ev.FrameID == t.main && t.docRef == nil {
		t.docRef = &r
	}
	t.mu.Unlock()
	_, _ = chromedp.Call(tabCtx, fetch.FailRequest, fetch.FailRequestParams{
		RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient,
	})
}

func (t *tabState) check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("unparsable URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q refused", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return t.guard.CheckHost(ctx, u.Hostname())
}

func (t *tabState) refusals() []Refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Refusal(nil), t.refused...)
}

func (t *tabState) documentRefusal() *Refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.docRef
}

// cookies returns the tab's cookies that would be sent to any of urls.
func cookies(ctx context.Context, urls []string) ([]*network.Cookie, error) {
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		return nil, err
	}
	return res.Cookies, nil
}
