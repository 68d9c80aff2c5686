package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A reader whose HTML holds no images: a script fetches the list after a
// delay and inserts them; a logo comes first in the document.
func TestResolveScriptInsertsImages(t *testing.T) {
	srv := readerServer(t, map[string]http.HandlerFunc{"/chapter/1": serveHTML(`<!doctype html><html><body>
<img id="logo" src="/static/logo.png">
<div id="reader"></div>
<script>
setTimeout(() => fetch('/api/pages.json').then(r => r.json()).then(d => {
	for (const u of d.pages) {
		const img = document.createElement('img');
		img.src = u;
		document.getElementById('reader').appendChild(img);
	}
}), 300);
</script></body></html>`),
		"/api/pages.json": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"pages":["/img/01.png","/img/02.png","/img/03.png"]}`)
		},
		"/static/": servePNG,
	})
	res := mustResolve(t, newResolver(t, Options{}), srv.URL+"/chapter/1")
	want := []string{srv.URL + "/static/logo.png", srv.URL + "/img/01.png", srv.URL + "/img/02.png", srv.URL + "/img/03.png"}
	if !slices.Equal(res.Images, want) {
		t.Fatalf("images %q, want %q", res.Images, want)
	}
	if !res.Settled || len(res.Blocked) != 0 {
		t.Fatalf("settled %v, blocked %v", res.Settled, res.Blocked)
	}
	if !strings.Contains(res.HTML, `src="/img/03.png"`) {
		t.Fatalf("rendered HTML lacks the inserted images: %.300s", res.HTML)
	}
	if !strings.Contains(res.UserAgent, "Chrome/") {
		t.Fatalf("user agent %q", res.UserAgent)
	}
}

// A reader that adds a batch of images each time the reader nears the
// bottom, three times.
func TestResolveImagesOnScroll(t *testing.T) {
	srv := readerServer(t, map[string]http.HandlerFunc{"/read": serveHTML(`<!doctype html><html><body style="margin:0">
<div id="reader"><div style="height:2500px">cover text</div></div>
<script>
let batch = 0;
function more() {
	if (batch >= 3 || window.scrollY + window.innerHeight < document.body.scrollHeight - 200) return;
	batch++;
	for (let i = 1; i <= 2; i++) {
		const img = document.createElement('img');
		img.src = '/img/' + batch + '-' + i + '.png';
		img.style = 'display:block;width:800px;height:1800px';
		document.getElementById('reader').appendChild(img);
	}
}
window.addEventListener('scroll', more);
</script></body></html>`)})
	res := mustResolve(t, newResolver(t, Options{UserAgent: "mangabot/test"}), srv.URL+"/read")
	var want []string
	for b := 1; b <= 3; b++ {
		for i := 1; i <= 2; i++ {
			want = append(want, fmt.Sprintf("%s/img/%d-%d.png", srv.URL, b, i))
		}
	}
	if !slices.Equal(res.Images, want) {
		t.Fatalf("images %q, want %q", res.Images, want)
	}
	if !strings.HasSuffix(res.UserAgent, " mangabot/test") {
		t.Fatalf("user agent %q does not end with ours", res.UserAgent)
	}
}

// A challenge page sets a cookie by script and reloads; the images need
// that cookie, which the result carries.
func TestResolveChallengeCookie(t *testing.T) {
	srv := readerServer(t, map[string]http.HandlerFunc{"/chapter": func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("pass"); err != nil || c.Value != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
			serveHTML(`<!doctype html><p>Checking your browser…</p>
<script>setTimeout(() => { document.cookie = "pass=ok; path=/"; location.reload(); }, 200);</script>`)(w, r)
			return
		}
		serveHTML(`<!doctype html><div id="r"><img src="/img/a.png"><img src="/img/b.png"></div>`)(w, r)
	}, "/img/": func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("pass"); err != nil || c.Value != "ok" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		servePNG(w, r)
	}})
	res := mustResolve(t, newResolver(t, Options{}), srv.URL+"/chapter")
	want := []string{srv.URL + "/img/a.png", srv.URL + "/img/b.png"}
	if !slices.Equal(res.Images, want) {
		t.Fatalf("images %q, want %q", res.Images, want)
	}
	if h := res.CookieHeader(want[0]); h != "pass=ok" {
		t.Fatalf("cookie header %q, want pass=ok (cookies %v)", h, res.Cookies)
	}
	// The cookie really opens the images, and the server really wants it.
	for _, cookie := range []string{"", res.CookieHeader(want[0])} {
		req, _ := http.NewRequest("GET", want[1], nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ok := resp.StatusCode == http.StatusOK; ok != (cookie != "") {
			t.Fatalf("cookie %q: status %d", cookie, resp.StatusCode)
		}
	}
}

// A page whose script reaches for a private address (fetch, image and
// websocket): nothing reaches it, the refusal is reported, and the page's
// own images still come back.
func TestResolveRefusesPrivateAddress(t *testing.T) {
	priv, counter := privateServer(t, http.HandlerFunc(servePNG))
	srv := readerServer(t, map[string]http.HandlerFunc{"/chapter": serveHTML(`<!doctype html><div id="r"></div>
<script>
fetch('` + priv.URL + `/latest/meta-data/').catch(() => {});
const f = document.createElement('iframe'); f.src = '` + priv.URL + `/frame'; document.body.appendChild(f);
try { new WebSocket('` + strings.Replace(priv.URL, "http:", "ws:", 1) + `/ws'); } catch (e) {}
for (const u of ['/img/1.png', '` + priv.URL + `/secret.png', '/img/2.png']) {
	const img = document.createElement('img'); img.src = u; document.getElementById('r').appendChild(img);
}
</script>`)})
	r := newResolver(t, Options{})
	res := mustResolve(t, r, srv.URL+"/chapter")
	if n := counter.n.Load(); n != 0 {
		t.Fatalf("the private server got %d connections", n)
	}
	want := []string{srv.URL + "/img/1.png", priv.URL + "/secret.png", srv.URL + "/img/2.png"}
	if !slices.Equal(res.Images, want) {
		t.Fatalf("images %q, want %q", res.Images, want)
	}
	// The fetch and the image are refused by the tab's Fetch guard; the
	// frame may be too (in the page's process) or, out of process, by the
	// proxy alone; the websocket by the proxy alone.
	refused := map[string]bool{}
	for _, b := range res.Blocked {
		if !strings.HasPrefix(b.URL, priv.URL) || !strings.Contains(b.Reason, "blocked address 127.0.0.2 (loopback)") {
			t.Fatalf("unexpected refusal %v", b)
		}
		refused[strings.TrimPrefix(b.URL, priv.URL)] = true
	}
	if !refused["/latest/meta-data/"] || !refused["/secret.png"] {
		t.Fatalf("refused %v, want the fetch and the image", res.Blocked)
	}

	// A page on the private address itself fails with the guard's reason.
	_, err := r.Resolve(t.Context(), priv.URL+"/")
	if err == nil || !strings.Contains(err.Error(), "blocked address 127.0.0.2") || !strings.Contains(err.Error(), "allow_networks") {
		t.Fatalf("private page: %v", err)
	}
	if n := counter.n.Load(); n != 0 {
		t.Fatalf("the private server got %d connections", n)
	}
}

// Non-http(s) requests are refused whatever their address.
func TestResolveRefusesOtherSchemes(t *testing.T) {
	srv := readerServer(t, map[string]http.HandlerFunc{
		"/p": serveHTML(`<!doctype html><img src="/img/1.png"><iframe src="ftp://127.0.0.1/x"></iframe>`),
	})
	r := newResolver(t, Options{})
	if _, err := r.Resolve(t.Context(), "file:///etc/passwd"); err == nil {
		t.Fatal("file: URL accepted")
	}
	res := mustResolve(t, r, srv.URL+"/p")
	if len(res.Images) != 1 {
		t.Fatalf("images %q", res.Images)
	}
}

// Cancelling a render closes its tab within a second.
func TestResolveCancelClosesTab(t *testing.T) {
	hung := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	srv := readerServer(t, map[string]http.HandlerFunc{
		"/chapter": serveHTML(`<!doctype html><img src="/img/1.png"><img src="/hang.png">`),
		"/hang.png": func(w http.ResponseWriter, r *http.Request) {
			select {
			case hung <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}})

	r := newResolver(t, Options{})
	inst, err := r.instance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before := pageTargets(t, inst)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Resolve(ctx, srv.URL+"/chapter")
		errc <- err
	}()
	select {
	case <-hung:
	case err := <-errc:
		t.Fatalf("render ended before the page hung: %v", err)
	}
	if n := pageTargets(t, inst); n != before+1 {
		t.Fatalf("%d tabs while rendering, want %d", n, before+1)
	}
	cancel()
	// Within a second: Resolve returns and the tab is gone.
	wait, stop := context.WithTimeout(t.Context(), time.Second)
	defer stop()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Resolve after cancel: %v", err)
		}
	case <-wait.Done():
		t.Fatal("Resolve did not return within 1s of the cancel")
	}
	for pageTargets(t, inst) != before {
		select {
		case <-wait.Done():
			t.Fatalf("tab still open 1s after the cancel (%d tabs)", pageTargets(t, inst))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pageTargets counts the browser's open tabs.
func pageTargets(t *testing.T, inst *instance) int {
	t.Helper()
	ts, err := chromedp.Targets(inst.ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range ts {
		if ti.Type == "page" {
			n++
		}
	}
	return n
}

// A page that never goes quiet (a script polls forever) is read when the
// timeout comes: its images, marked as not settled.
func TestResolveTimeoutReadsWhatIsThere(t *testing.T) {
	srv := readerServer(t, map[string]http.HandlerFunc{
		"/chapter": serveHTML(`<!doctype html><img src="/img/1.png"><img src="/img/2.png">
<script>setInterval(() => fetch('/poll').catch(() => {}), 100);</script>`),
		"/poll": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) },
	})
	r := newResolver(t, Options{Timeout: 2 * time.Second, QuietPeriod: 500 * time.Millisecond})
	res := mustResolve(t, r, srv.URL+"/chapter")
	if res.Settled || len(res.Images) != 2 {
		t.Fatalf("settled %v, images %q", res.Settled, res.Images)
	}
}
