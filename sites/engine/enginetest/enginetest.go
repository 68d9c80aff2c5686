// Package enginetest serves engine fixtures on loopback for the engines'
// tests and the end-to-end tests above them: a reader site that answers
// saved pages, and a separate image CDN on another loopback address that
// refuses requests without the reader's Referer and counts what it serves.
package enginetest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/sitestest"
)

// Env is sitestest.Env with a fetcher whose per-host rate does not pace
// the tests (every fixture lives on one loopback host); the fetcher is
// returned too, to download pages with.
func Env() (sites.Env, *download.Fetcher) {
	f := sitestest.Fetcher(download.Options{Rate: 1000, Burst: 1000})
	return sites.Env{Client: f.Client(), UserAgent: sitestest.UA, MaxChapters: 10}, f
}

// Fixture reads testdata/name (name as is when it is a path: another
// package's fixture, "../madara/testdata/chapter.html") with its
// placeholders filled in: {{SITE}}
// and {{CDN}} (origins, "http://127.0.0.1:port"), and {{SITE_JS}} and
// {{CDN_JS}}, the same with "/" escaped as "\/" the way WordPress and PHP
// print URLs inside scripts.
func Fixture(t testing.TB, name, site, cdn string) []byte {
	t.Helper()
	file := name
	if !strings.ContainsRune(name, '/') {
		file = filepath.Join("testdata", name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(
		"{{SITE}}", site, "{{CDN}}", cdn,
		"{{SITE_JS}}", strings.ReplaceAll(site, "/", `\/`), "{{CDN_JS}}", strings.ReplaceAll(cdn, "/", `\/`),
	).Replace(string(b)))
}

// CDN serves a PNG for every path to requests whose Referer is on the
// reader's origin, and 403 to the others.
type CDN struct {
	*httptest.Server
	// Origin is the reader's origin the Referer must start with; set by
	// NewReader.
	Origin string

	mu      sync.Mutex
	hits    map[string]int
	refused []string
}

// NewCDN starts the CDN on 127.0.0.2, another host than the reader's.
func NewCDN(t testing.TB) *CDN {
	t.Helper()
	c := &CDN{hits: map[string]int{}}
	img := PNG(t)
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		ok := c.Origin != "" && strings.HasPrefix(r.Referer(), c.Origin+"/")
		if ok {
			c.hits[r.URL.Path]++
		} else {
			c.refused = append(c.refused, r.URL.Path+" (Referer "+r.Referer()+")")
		}
		c.mu.Unlock()
		if !ok {
			http.Error(w, "hotlinking refused", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}))
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	c.Listener = l
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// Hits counts the images served whose path starts with prefix.
func (c *CDN) Hits(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.hits {
		if strings.HasPrefix(p, prefix) {
			n += k
		}
	}
	return n
}

// Refused lists the requests refused for their Referer.
func (c *CDN) Refused() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.refused...)
}

// Route is one answer of the reader: a fixture file, or a status.
type Route struct {
	File   string     // testdata file; "" with Status: that status, empty body
	Status int        // 0: 200
	Body   string     // literal body instead of File
	Form   url.Values // POST only: every key must have this value, else 400
	// Replace are old, new pairs applied to the fixture (one saved
	// chapter page standing for several chapters).
	Replace []string
}

// Reader serves routes keyed "GET /path?query" (the exact request) or
// "GET /path" (any query), POST likewise; anything else is 404.
type Reader struct {
	*httptest.Server

	mu       sync.Mutex
	requests []string // "METHOD /path?query"
}

// NewReader starts the reader on 127.0.0.1 and tells cdn its origin.
func NewReader(t testing.TB, cdn *CDN, routes map[string]Route) *Reader {
	t.Helper()
	rd := &Reader{}
	rd.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.mu.Lock()
		rd.requests = append(rd.requests, r.Method+" "+r.URL.RequestURI())
		rd.mu.Unlock()
		rt, ok := routes[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			rt, ok = routes[r.Method+" "+r.URL.Path]
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPost && rt.Form != nil {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for k := range rt.Form {
				if r.PostForm.Get(k) != rt.Form.Get(k) {
					http.Error(w, "0", http.StatusBadRequest)
					return
				}
			}
		}
		body := []byte(rt.Body)
		if rt.File != "" {
			body = Fixture(t, rt.File, rd.URL, cdn.URL)
		}
		if len(rt.Replace) > 0 {
			body = []byte(strings.NewReplacer(rt.Replace...).Replace(string(body)))
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		if rt.Status != 0 {
			w.WriteHeader(rt.Status)
		}
		w.Write(body)
	}))
	t.Cleanup(rd.Close)
	cdn.mu.Lock()
	cdn.Origin = rd.URL
	cdn.mu.Unlock()
	return rd
}

// Requests lists the requests the reader got, "METHOD /path?query".
func (rd *Reader) Requests() []string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return append([]string(nil), rd.requests...)
}

// PNG is a small real image (the PDF writer decodes what it embeds).
func PNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	for y := 0; y < 60; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(4 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
