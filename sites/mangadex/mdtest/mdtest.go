// Package mdtest is a loopback MangaDex API for the tests of layers above
// the handler (follows, the bot, the CLI): the title, its feed (honouring
// translatedLanguage, publishAtSince, order[publishAt] and limit), the
// chapters (the feed's and the recorded chapter.json), the at-home answer
// and the images, built from the handler's fixtures in
// sites/mangadex/testdata. Chapters can be added while it runs. Options add
// an @Home node of its own and a MangaDex@Home report endpoint.
package mdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// MangaID is the title the fixtures describe.
	MangaID = "9f0c1c9e-6a9b-4d7e-8a51-0b1f2a3c4d5e"
	// ChapterID is the chapter of chapter.json: "The Reading Room", vol. 2
	// ch. 7.5 of "The Library Beyond the Clouds" by Aoi Kumo and Sora Ito,
	// translated into English by Alpha Scans and Beta Scans; three pages.
	// It is not in the feed.
	ChapterID = "a1b2c3d4-0000-4000-8000-00000000c001"
)

// nodeToken is the path the node's baseUrl carries, as an @Home node's
// does; the node refuses images without it.
const nodeToken = "/token"

// Options of New; the zero value is the API alone, serving generated PNGs
// itself.
type Options struct {
	// Node serves the images from an @Home node of its own on 127.0.0.3
	// (another host than the API, as MangaDex's nodes are, so the API's
	// rate limits do not hold the pages back), under a token path, with
	// X-Cache: HIT; the pages are real images (Pages): a JPEG, a PNG and a
	// lossy WebP.
	Node bool
	// Reports starts a MangaDex@Home report endpoint (in Config) that
	// takes each report after ReportDelay, a slow endpoint, and records
	// the successful ones (CheckReports).
	Reports     bool
	ReportDelay time.Duration
}

// API is the fake. Its URL is the api_url (and, without Options.Node, the
// image node).
type API struct {
	*httptest.Server
	t       testing.TB
	node    *httptest.Server // nil: the images come from Server
	reports *httptest.Server // nil: no report endpoint
	pages   [][]byte         // the node's pages 1, 2, 3

	mu       sync.Mutex
	chapters []json.RawMessage // feed entries, as the fixture has them plus added ones
	paths    []string          // of every request, in order
	template json.RawMessage   // first chapter of feed.json, cloned by Add
	throttle int               // answer this many next feed requests with 429
	reported []string          // image URLs of successful reports
}

// repoFile reads a file of the repository, dir/name below its root.
func repoFile(t testing.TB, dir, name string) []byte {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture reads sites/mangadex/testdata/name.
func fixture(t testing.TB, name string) []byte { return repoFile(t, "sites/mangadex/testdata", name) }

// New starts the fake with the chapters of testdata/feed.json and
// chapter.json.
func New(t testing.TB, o Options) *API {
	var feed struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, "feed.json"), &feed); err != nil {
		t.Fatal(err)
	}
	a := &API{t: t, chapters: feed.Data, template: feed.Data[0]}
	manga, atHome, notFound := fixture(t, "manga.json"), fixture(t, "at_home.json"), fixture(t, "error_not_found.json")
	recorded := fixture(t, "chapter.json")
	limited := fixture(t, "error_rate_limited.json")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /manga/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != MangaID {
			writeJSON(w, http.StatusNotFound, notFound)
			return
		}
		writeJSON(w, http.StatusOK, manga)
	})
	mux.HandleFunc("GET /manga/{id}/feed", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != MangaID {
			writeJSON(w, http.StatusNotFound, notFound)
			return
		}
		a.mu.Lock()
		throttled := a.throttle > 0
		if throttled {
			a.throttle--
		}
		a.mu.Unlock()
		if throttled {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, limited)
			return
		}
		writeJSON(w, http.StatusOK, a.feed(r))
	})
	mux.HandleFunc("GET /chapter/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == ChapterID {
			writeJSON(w, http.StatusOK, recorded)
			return
		}
		if c := a.chapter(r.PathValue("id")); c != nil {
			b, _ := json.Marshal(map[string]any{"result": "ok", "response": "entity", "data": c})
			writeJSON(w, http.StatusOK, b)
			return
		}
		writeJSON(w, http.StatusNotFound, notFound)
	})
	mux.HandleFunc("GET /at-home/server/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); id != ChapterID && a.chapter(id) == nil {
			writeJSON(w, http.StatusNotFound, notFound)
			return
		}
		base := a.URL
		if a.node != nil {
			base = a.node.URL + nodeToken
		}
		writeJSON(w, http.StatusOK, bytes.ReplaceAll(atHome, []byte("{{BASE_URL}}"), []byte(base)))
	})
	if o.Node {
		a.startNode(t)
	} else {
		mux.HandleFunc("GET /data/{hash}/{file}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(pagePNG(r.PathValue("file")))
		})
	}
	if o.Reports {
		a.startReports(t, o.ReportDelay)
	}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.paths = append(a.paths, r.URL.Path)
		a.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

// startNode starts the @Home node on 127.0.0.3 with the real pages, page
// n being the file of at_home.json named "n-…".
func (a *API) startNode(t testing.TB) {
	for _, f := range []string{"video-001.jpeg", "video-001.png", "video-001.lossy.webp"} {
		a.pages = append(a.pages, repoFile(t, "pdf/testdata", f))
	}
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+nodeToken+"/data/{hash}/{file}", func(w http.ResponseWriter, r *http.Request) {
		f := r.PathValue("file")
		if len(f) < 2 || f[0] < '1' || int(f[0]-'1') >= len(a.pages) || f[1] != '-' {
			http.NotFound(w, r)
			return
		}
		img := a.pages[f[0]-'1']
		w.Header().Set("Content-Type", http.DetectContentType(img))
		w.Header().Set("X-Cache", "HIT")
		w.Write(img)
	})
	a.node = httptest.NewUnstartedServer(mux)
	a.node.Listener.Close()
	a.node.Listener = ln
	a.node.Start()
	t.Cleanup(a.node.Close)
}

// startReports starts the report endpoint.
func (a *API) startReports(t testing.TB, delay time.Duration) {
	a.reports = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		var rep struct {
			URL     string `json:"url"`
			Success bool   `json:"success"`
		}
		if r.Method == http.MethodPost && r.URL.Path == "/report" && json.NewDecoder(r.Body).Decode(&rep) == nil && rep.Success {
			a.mu.Lock()
			a.reported = append(a.reported, rep.URL)
			a.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, []byte(`{"result":"ok"}`))
	}))
	t.Cleanup(a.reports.Close)
}

// Config is the [sites.mangadex] table of a config file pointing at the
// fake: its api_url, and its report endpoint or none.
func (a *API) Config() string {
	report := ""
	if a.reports != nil {
		report = a.reports.URL + "/report"
	}
	return fmt.Sprintf("[sites.mangadex]\napi_url = %q\nreport_url = %q\n", a.URL, report)
}

// Pages are the node's images of pages 1, 2 and 3, as it serves them (nil
// without Options.Node).
func (a *API) Pages() [][]byte { return a.pages }

// CheckReports fails the test unless want successful reports arrived,
// each of an image of the node; logs (the process's output) go with the
// failure.
func (a *API) CheckReports(t testing.TB, want int, logs string) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reported) != want {
		t.Errorf("%d successful reports arrived, want %d: %q\n%s", len(a.reported), want, a.reported, logs)
	}
	for _, u := range a.reported {
		if a.node == nil || !strings.HasPrefix(u, a.node.URL+nodeToken+"/data/") {
			t.Errorf("report for %s, want the node's images", u)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

type entry struct {
	lang string
	at   time.Time
	raw  json.RawMessage
}

func (a *API) feed(r *http.Request) []byte {
	q := r.URL.Query()
	langs := q["translatedLanguage[]"]
	var since time.Time
	if s := q.Get("publishAtSince"); s != "" {
		var err error
		if since, err = time.Parse("2006-01-02T15:04:05", s); err != nil {
			a.t.Errorf("publishAtSince %q: %v", s, err)
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	a.mu.Lock()
	var es []entry
	for _, raw := range a.chapters {
		var c struct {
			Attributes struct {
				TranslatedLanguage string    `json:"translatedLanguage"`
				PublishAt          time.Time `json:"publishAt"`
			} `json:"attributes"`
		}
		json.Unmarshal(raw, &c)
		if len(langs) > 0 && !slices.Contains(langs, c.Attributes.TranslatedLanguage) {
			continue
		}
		if !since.IsZero() && c.Attributes.PublishAt.Before(since) {
			continue
		}
		es = append(es, entry{c.Attributes.TranslatedLanguage, c.Attributes.PublishAt, raw})
	}
	a.mu.Unlock()
	desc := q.Get("order[publishAt]") == "desc"
	sort.SliceStable(es, func(i, j int) bool {
		if desc {
			return es[i].at.After(es[j].at)
		}
		return es[i].at.Before(es[j].at)
	})
	total := len(es)
	if len(es) > limit {
		es = es[:limit]
	}
	data := make([]json.RawMessage, len(es))
	for i, e := range es {
		data[i] = e.raw
	}
	b, _ := json.Marshal(map[string]any{"result": "ok", "response": "collection", "data": data, "limit": limit, "offset": 0, "total": total})
	return b
}

// chapter is the feed entry with the id, nil when there is none.
func (a *API) chapter(id string) json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, raw := range a.chapters {
		var c struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &c) == nil && c.ID == id {
			return raw
		}
	}
	return nil
}

// TitleURL is the title's link on site (e.g. https://mangadex.org).
func TitleURL(site string) string { return strings.TrimRight(site, "/") + "/title/" + MangaID }

// Add publishes a new English chapter numbered number at time at, a copy
// of the fixture's first chapter, and returns its id.
func (a *API) Add(number string, at time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", 900+len(a.chapters))
	var c map[string]any
	json.Unmarshal(a.template, &c)
	c["id"] = id
	attrs := c["attributes"].(map[string]any)
	attrs["chapter"] = number
	attrs["volume"] = nil
	attrs["title"] = "Chapter " + number
	ts := at.UTC().Format(time.RFC3339)
	attrs["publishAt"], attrs["readableAt"], attrs["createdAt"], attrs["updatedAt"] = ts, ts, ts, ts
	raw, _ := json.Marshal(c)
	a.chapters = append(a.chapters, raw)
	return id
}

// Hits is how many requests paths starting with prefix have had.
func (a *API) Hits(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(a.paths), func(p string) bool { return !strings.HasPrefix(p, prefix) }))
}

// Throttle answers the next n feed requests with 429.
func (a *API) Throttle(n int) {
	a.mu.Lock()
	a.throttle = n
	a.mu.Unlock()
}

// pagePNG is a small PNG whose colour depends on name.
func pagePNG(name string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	var h byte
	for i := 0; i < len(name); i++ {
		h = h*31 + name[i]
	}
	for y := 0; y < 60; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{h, byte(x * 6), byte(y * 4), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
