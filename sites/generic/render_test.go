package generic_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/browser"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/generic"
)

// scriptedPages serves /one and /two: each sets a cookie by script, then
// inserts two images into #reader after fetching nothing else; /one links
// to /two. /static has its images in the HTML, and no script.
func scriptedPages(t *testing.T) *httptest.Server {
	page := func(name, next string) string {
		link := ""
		if next != "" {
			link = `<a class="next" href="` + next + `">next</a>`
		}
		return `<!doctype html><html><head><title>Scripted ` + name + `</title></head><body>
<header><img src="/img/logo.png" width="40" height="20"></header><div id="reader"></div>` + link + `
<script>
document.cookie = "seen=` + name + `; path=/";
setTimeout(() => { for (const n of [1, 2]) {
	const img = document.createElement('img');
	img.src = '/img/` + name + `-' + n + '.png';
	document.getElementById('reader').appendChild(img);
} }, 100);
</script></body></html>`
	}
	html := map[string]string{
		"/one":    page("one", "/two"),
		"/two":    page("two", ""),
		"/static": `<!doctype html><html><body><div id="reader"><p>Nothing here yet.</p></div></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := html[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(h))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/img/") {
			w.Header().Set("Content-Type", "image/png")
			w.Write(pngBytes(t))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// renderEnv is testEnv with a real headless browser allowed on loopback.
func renderEnv(t *testing.T, auto bool, obs browser.Observer) sites.Env {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium missing (CI)")
		}
		t.Skip("chromium not installed")
	}
	r := browser.New(browser.Options{
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		QuietPeriod:   400 * time.Millisecond, UserAgent: testUA, Observer: obs,
	})
	t.Cleanup(func() { r.Close() })
	env := testEnv()
	env.Renderer, env.AutoRender = r, auto
	return env
}

func resolveIn(t *testing.T, h sites.Handler, env sites.Env, raw string) (*sites.Chapter, error) {
	t.Helper()
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	chs, err := h.Resolve(t.Context(), env, sites.Request{URL: u})
	if err != nil {
		return nil, err
	}
	return chs[0], nil
}

// A render rule reads the rendered pages (following next, rendered too);
// each image goes with the page as Referer, the page's cookie and the
// browser's User-Agent.
func TestGenericRenderRule(t *testing.T) {
	srv := scriptedPages(t)
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{Host: "127.0.0.1", Selector: "#reader img", Next: "a.next", Render: true}}})
	ch, err := resolveIn(t, h, renderEnv(t, false, nil), srv.URL+"/one")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{srv.URL + "/img/one-1.png", srv.URL + "/img/one-2.png", srv.URL + "/img/two-1.png", srv.URL + "/img/two-2.png"}
	if got := pageURLs(ch.Pages); !slices.Equal(got, want) {
		t.Fatalf("pages %q, want %q", got, want)
	}
	for i, p := range ch.Pages {
		page := "/one"
		if i >= 2 {
			page = "/two"
		}
		if p.Header.Get("Referer") != srv.URL+page || !strings.Contains(p.Header.Get("Cookie"), "seen=") ||
			!strings.Contains(p.Header.Get("User-Agent"), "Chrome/") || !strings.HasSuffix(p.Header.Get("User-Agent"), testUA) {
			t.Errorf("page %d headers %v", i, p.Header)
		}
	}
	if ch.Title == "" && ch.Series == "" {
		t.Errorf("no title from the rendered page: %+v", ch)
	}
}

// Without a browser a render rule fails with one line, before any request.
func TestGenericRenderNeedsBrowser(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{Host: "127.0.0.1", Selector: "img", Render: true}}})
	_, err := resolveIn(t, h, testEnv(), srv.URL+"/one")
	if !errors.Is(err, sites.ErrNeedsBrowser) || strings.Contains(err.Error(), "\n") || hits.Load() != 0 {
		t.Fatalf("err %v, %d requests", err, hits.Load())
	}
}

// [browser] auto renders a page with no images that carries scripts, and
// only such a page.
func TestGenericAutoRender(t *testing.T) {
	srv := scriptedPages(t)
	h := newTestHandler(t, nil)
	obs := &renders{}
	ch, err := resolveIn(t, h, renderEnv(t, true, obs), srv.URL+"/two")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{srv.URL + "/img/two-1.png", srv.URL + "/img/two-2.png"}; !slices.Equal(pageURLs(ch.Pages), want) {
		t.Fatalf("pages %q, want %q (no logo)", pageURLs(ch.Pages), want)
	}
	if _, err := resolveIn(t, h, renderEnv(t, true, obs), srv.URL+"/static"); !errors.Is(err, sites.ErrLayout) {
		t.Fatalf("page without scripts: %v", err)
	}
	if _, err := resolveIn(t, h, testEnv(), srv.URL+"/two"); !errors.Is(err, sites.ErrLayout) {
		t.Fatalf("without auto: %v", err)
	}
	if n := obs.n.Load(); n != 1 {
		t.Fatalf("%d renders, want 1 (the scripted page only)", n)
	}
}

type renders struct{ n atomic.Int64 }

func (r *renders) RenderStarted()                      { r.n.Add(1) }
func (r *renders) RenderFinished(error, time.Duration) {}
func (r *renders) TabsInUse(int)                       {}

// A reader whose script takes its list from a private address: the
// request is refused, and the error says so rather than only "no images".
func TestGenericRenderRefusalExplained(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("no 127.0.0.2: ", err)
	}
	var hits atomic.Int64
	priv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	priv.Listener = ln
	priv.Start()
	defer priv.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><div id="reader"></div><script>
fetch('` + priv.URL + `/api/pages.json').then(r => r.json()).then(d => {
	for (const u of d) { const i = document.createElement('img'); i.src = u; document.getElementById('reader').appendChild(i); }
}).catch(() => {});
</script>`))
	}))
	defer srv.Close()
	h := newTestHandler(t, &generic.Options{Rules: []generic.Rule{{Host: "127.0.0.1", Selector: "#reader img", Render: true}}})
	_, err = resolveIn(t, h, renderEnv(t, false, nil), srv.URL+"/chapter")
	if !errors.Is(err, sites.ErrLayout) || !strings.Contains(err.Error(), "blocked address 127.0.0.2") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the private server got %d requests", hits.Load())
	}
}
