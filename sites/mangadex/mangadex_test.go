package mangadex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/mangadex"
	"github.com/mangabot/mangabot/sites/sitestest"
)

const (
	testUA      = "mangabot-test/1.0 (+https://example.org/contact)"
	mangaID     = "9f0c1c9e-6a9b-4d7e-8a51-0b1f2a3c4d5e"
	chapterID   = "a1b2c3d4-0000-4000-8000-00000000c001"
	chapterHash = "3303dd03ac8d27452cce3f2a882e94b2"
)

// readFixture reads testdata/mangadex/name.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apiHit is one request a fake server saw.
type apiHit struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	At     time.Time
}

type recorder struct {
	mu   sync.Mutex
	hits []apiHit
}

func (r *recorder) record(req *http.Request) apiHit {
	var body bytes.Buffer
	body.ReadFrom(req.Body)
	h := apiHit{req.Method, req.URL.Path, req.URL.Query(), req.Header.Clone(), body.Bytes(), time.Now()}
	r.mu.Lock()
	r.hits = append(r.hits, h)
	r.mu.Unlock()
	return h
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.hits = nil
	r.mu.Unlock()
}

func (r *recorder) all() []apiHit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

func (r *recorder) paths(prefix string) []apiHit {
	var out []apiHit
	for _, h := range r.all() {
		if strings.HasPrefix(h.Path, prefix) {
			out = append(out, h)
		}
	}
	return out
}

// fakeAPI is a fake api.mangadex.org serving the fixtures. The feed is
// filtered by translatedLanguage[] and paged by at most feedPage items
// (fewer than the limit asked for, as the real API may), with total.
type fakeAPI struct {
	*httptest.Server
	t   *testing.T
	rec recorder

	mu          sync.Mutex
	atHomeBases []string // baseUrl of successive at-home answers (the last repeats)
	atHomeCalls int
	feedPage    int
	feedFile    string    // testdata file the feed serves; "" is feed.json
	generated   int       // > 0: the feed is this many generated English chapters
	throttle    string    // path prefix whose first request gets a 429
	throttleTS  time.Time // X-RateLimit-Retry-After sent with it
}

func newFakeAPI(t *testing.T) *fakeAPI {
	api := &fakeAPI{t: t, feedPage: 500}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chapter/{id}", api.chapter)
	mux.HandleFunc("GET /at-home/server/{id}", api.atHome)
	mux.HandleFunc("GET /manga/{id}", api.manga)
	mux.HandleFunc("GET /manga/{id}/feed", api.feed)
	mux.HandleFunc("GET /manga", api.search)
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.rec.record(r)
		api.mu.Lock()
		throttle := api.throttle != "" && strings.HasPrefix(r.URL.Path, api.throttle)
		if throttle {
			api.throttle = ""
			// A Unix time 1-2 s ahead, as MangaDex sends it.
			api.throttleTS = time.Unix(time.Now().Unix()+2, 0)
			w.Header().Set("X-RateLimit-Retry-After", strconv.FormatInt(api.throttleTS.Unix(), 10))
		}
		api.mu.Unlock()
		if throttle {
			api.json(w, http.StatusTooManyRequests, readFixture(t, "error_rate_limited.json"))
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

func (api *fakeAPI) json(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (api *fakeAPI) badRequest(w http.ResponseWriter, detail string) {
	b, _ := json.Marshal(map[string]any{"result": "error", "errors": []map[string]any{
		{"id": "00000000-0000-4000-8000-000000000000", "status": 400, "title": "validation_exception", "detail": detail, "context": nil},
	}})
	api.json(w, http.StatusBadRequest, b)
}

func (api *fakeAPI) chapter(w http.ResponseWriter, r *http.Request) {
	inc := r.URL.Query()["includes[]"]
	if !slices.Contains(inc, "scanlation_group") || !slices.Contains(inc, "manga") {
		api.badRequest(w, fmt.Sprintf("test: includes[] = %q, want scanlation_group and manga", inc))
		return
	}
	files := map[string]string{
		chapterID:                              "chapter.json",
		"a1b2c3d4-0000-4000-8000-00000000c002": "chapter_external.json",
		"a1b2c3d4-0000-4000-8000-00000000c003": "chapter_zero_pages.json",
		"a1b2c3d4-0000-4000-8000-00000000c004": "chapter_changed_layout.json",
	}
	switch id := r.PathValue("id"); {
	case files[id] != "":
		api.json(w, http.StatusOK, readFixture(api.t, files[id]))
	case id == "a1b2c3d4-0000-4000-8000-00000000c005":
		api.json(w, http.StatusBadRequest, readFixture(api.t, "error_validation.json"))
	default:
		api.json(w, http.StatusNotFound, readFixture(api.t, "error_not_found.json"))
	}
}

func (api *fakeAPI) atHome(w http.ResponseWriter, r *http.Request) {
	api.mu.Lock()
	n := min(api.atHomeCalls, len(api.atHomeBases)-1)
	api.atHomeCalls++
	base := api.atHomeBases[n]
	api.mu.Unlock()
	body := bytes.ReplaceAll(readFixture(api.t, "at_home.json"), []byte("{{BASE_URL}}"), []byte(base))
	api.json(w, http.StatusOK, body)
}

func (api *fakeAPI) manga(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != mangaID {
		api.json(w, http.StatusNotFound, readFixture(api.t, "error_not_found.json"))
		return
	}
	api.json(w, http.StatusOK, readFixture(api.t, "manga.json"))
}

func (api *fakeAPI) feed(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != mangaID {
		api.json(w, http.StatusNotFound, readFixture(api.t, "error_not_found.json"))
		return
	}
	q := r.URL.Query()
	limit, err1 := strconv.Atoi(q.Get("limit"))
	offset, err2 := strconv.Atoi(q.Get("offset"))
	if err1 != nil || err2 != nil || limit < 1 || limit > 500 || offset < 0 || offset+limit > 10000 {
		api.badRequest(w, "bad limit/offset")
		return
	}
	var all struct {
		Result   string            `json:"result"`
		Response string            `json:"response"`
		Data     []json.RawMessage `json:"data"`
	}
	api.mu.Lock()
	feedFile := api.feedFile
	api.mu.Unlock()
	if feedFile == "" {
		feedFile = "feed.json"
	}
	if err := json.Unmarshal(readFixture(api.t, feedFile), &all); err != nil {
		api.t.Error(err)
		return
	}
	langs := q["translatedLanguage[]"]
	var data []json.RawMessage
	api.mu.Lock()
	generated := api.generated
	api.mu.Unlock()
	if generated > 0 {
		var page []json.RawMessage
		for i := offset; i < min(offset+limit, generated); i++ {
			page = append(page, json.RawMessage(fmt.Sprintf(`{"id":"a1b2c3d4-0000-4000-8000-%012d","type":"chapter",`+
				`"attributes":{"volume":null,"chapter":"%d","title":null,"translatedLanguage":"en","externalUrl":null,"pages":3,"version":1},`+
				`"relationships":[{"id":"6f1c0a00-aaaa-4aaa-8aaa-000000000001","type":"scanlation_group","attributes":{"name":"Alpha Scans"}}]}`, i+1, i+1)))
		}
		b, _ := json.Marshal(map[string]any{"result": "ok", "response": "collection", "data": page, "limit": limit, "offset": offset, "total": generated})
		api.json(w, http.StatusOK, b)
		return
	}
	for _, d := range all.Data {
		var c struct {
			Attributes struct {
				TranslatedLanguage string `json:"translatedLanguage"`
			} `json:"attributes"`
		}
		json.Unmarshal(d, &c)
		if len(langs) == 0 || slices.Contains(langs, c.Attributes.TranslatedLanguage) {
			data = append(data, d)
		}
	}
	api.mu.Lock()
	per := min(limit, api.feedPage)
	api.mu.Unlock()
	page := data[min(offset, len(data)):min(offset+per, len(data))]
	b, _ := json.Marshal(map[string]any{
		"result": "ok", "response": "collection", "data": page,
		"limit": limit, "offset": offset, "total": len(data),
	})
	api.json(w, http.StatusOK, b)
}

func (api *fakeAPI) search(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("title") == "" {
		api.badRequest(w, "test: no title")
		return
	}
	api.json(w, http.StatusOK, readFixture(api.t, "search.json"))
}

// pagePNG is the image served for a file name: a valid PNG that differs per
// name.
func pagePNG(name string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	var sum byte
	for _, c := range []byte(name) {
		sum = sum*31 + c
	}
	for x := range 2 {
		for y := range 2 {
			img.Set(x, y, color.RGBA{sum, byte(len(name)), 7, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// fakeNode is a fake MangaDex@Home image node. fail names files it answers
// 500 to, every time.
type fakeNode struct {
	*httptest.Server
	rec    recorder
	xcache string
	fail   map[string]bool
}

func newFakeNode(t *testing.T, xcache string, fail ...string) *fakeNode {
	n := &fakeNode{xcache: xcache, fail: map[string]bool{}}
	for _, f := range fail {
		n.fail[f] = true
	}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.rec.record(r)
		file := path.Base(r.URL.Path)
		if n.fail[file] {
			http.Error(w, "node overloaded", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Cache", n.xcache)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pagePNG(file))
	}))
	t.Cleanup(n.Close)
	return n
}

// fakeReports is a fake MangaDex@Home report endpoint. Until release is
// closed, it holds every report: a download must not wait for it. Each
// report is recorded and pushed on arrived as it comes in.
type fakeReports struct {
	*httptest.Server
	rec     recorder
	release chan struct{}
	arrived chan apiHit
}

func newFakeReports(t *testing.T) *fakeReports {
	rp := &fakeReports{release: make(chan struct{}), arrived: make(chan apiHit, 256)}
	rp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit := rp.rec.record(r)
		select {
		case rp.arrived <- hit:
		case <-r.Context().Done():
			return
		}
		select {
		case <-rp.release:
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"result":"ok"}`))
	}))
	t.Cleanup(func() {
		select {
		case <-rp.release:
		default:
			close(rp.release)
		}
		rp.Close()
	})
	return rp
}

type sentReport struct {
	URL      string `json:"url"`
	Success  bool   `json:"success"`
	Cached   bool   `json:"cached"`
	Bytes    int64  `json:"bytes"`
	Duration int64  `json:"duration"`
}

// waitReports takes reports as they arrive until done says those received
// so far suffice; ctx (the test's, with its hang guard) ends the wait.
func (rp *fakeReports) waitReports(t *testing.T, ctx context.Context, done func([]sentReport) bool) []sentReport {
	t.Helper()
	var got []sentReport
	for !done(got) {
		select {
		case h := <-rp.arrived:
			var r sentReport
			if err := json.Unmarshal(h.Body, &r); err != nil {
				t.Fatalf("report body %q: %v", h.Body, err)
			}
			got = append(got, r)
		case <-ctx.Done():
			t.Fatalf("reports never arrived (%v); got %+v", ctx.Err(), got)
		}
	}
	return got
}

// newTestHandler builds the mangadex handler from its registered declaration,
// pointed at the fakes.
func newTestHandler(t *testing.T, api *fakeAPI, reportURL string, edit func(*mangadex.Options)) sites.Handler {
	t.Helper()
	info, ok := sites.Lookup("mangadex")
	if !ok {
		t.Fatal("mangadex is not registered")
	}
	o := info.Options().(*mangadex.Options)
	o.APIURL = api.URL
	o.ReportURL = reportURL
	if edit != nil {
		edit(o)
	}
	h, err := info.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testEnv(t *testing.T, h sites.Handler) (sites.Env, *download.Fetcher) {
	f := sitestest.Fetcher(download.Options{UserAgent: testUA, HostLimits: h.(sites.Limiter).Limits()})
	return sites.Env{Client: f.Client(), UserAgent: testUA, MaxChapters: 50}, f
}

func testRequest(t *testing.T, raw, chapters, lang, quality string) sites.Request {
	t.Helper()
	u, err := sites.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return sites.Request{URL: u, Chapters: chapters, Language: lang, Quality: quality}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noNetworkClient is a client for code that must not make any request (the
// handler's defaults point at the real MangaDex): a request fails the test
// and is not sent.
func noNetworkClient(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return nil, errors.New("test: no network")
	})}
}

func TestMangaDexDeclaration(t *testing.T) {
	info, ok := sites.Lookup("mangadex")
	if !ok {
		t.Fatal("mangadex is not registered")
	}
	if !slices.Contains(info.Patterns, "https://mangadex.org/chapter/<uuid>") || !slices.Contains(info.Patterns, "https://mangadex.org/title/<uuid>[/slug]") {
		t.Errorf("Patterns = %q", info.Patterns)
	}
	o := info.Options().(*mangadex.Options)
	want := mangadex.Options{
		Quality: "data", APIURL: "https://api.mangadex.org", ReportURL: "https://api.mangadex.network/report",
		Languages: []string{"en"}, ContentRatings: []string{"safe", "suggestive", "erotica"},
		PreferredGroups: []string{}, SiteURL: "https://mangadex.org",
	}
	if fmt.Sprint(*o) != fmt.Sprint(want) {
		t.Errorf("defaults = %+v, want %+v", *o, want)
	}
	h, err := info.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://mangadex.org/chapter/" + chapterID:                true,
		"https://mangadex.org/chapter/" + chapterID + "/3":         true,
		"https://www.mangadex.org/chapter/" + chapterID:            true,
		"https://mangadex.org/title/" + mangaID:                    true,
		"https://mangadex.org/title/" + mangaID + "/kumo-no-mukou": true,
		"https://mangadex.org/title/" + strings.ToUpper(mangaID):   true,
		"https://mangadex.org/title/not-a-uuid":                    true, // taken, then refused with a clear error
		"https://mangadex.org/group/" + mangaID:                    true,
		"https://api.mangadex.org/chapter/" + chapterID:            false,
		"https://mangadex.org.evil.example/chapter/" + chapterID:   false,
		"https://example.org/chapter/" + chapterID:                 false,
	} {
		u, _ := url.Parse(raw)
		if got := h.Match(u); got != want {
			t.Errorf("Match(%s) = %v, want %v", raw, got, want)
		}
	}
	for _, raw := range []string{"https://mangadex.org/title/not-a-uuid", "https://mangadex.org/group/" + mangaID} {
		u, _ := url.Parse(raw)
		_, err := h.Resolve(context.Background(), sites.Env{Client: noNetworkClient(t)}, sites.Request{URL: u})
		if !errors.Is(err, sites.ErrUnsupported) || !strings.Contains(err.Error(), "/chapter/<uuid>") {
			t.Errorf("Resolve(%s) = %v, want a clear unsupported-link error", raw, err)
		}
	}

	for _, tc := range []struct {
		edit func(*mangadex.Options)
		key  string
	}{
		{func(o *mangadex.Options) { o.Quality = "hd" }, "quality"},
		{func(o *mangadex.Options) { o.APIURL = "ftp://api.mangadex.org" }, "api_url"},
		{func(o *mangadex.Options) { o.ReportURL = "not a url" }, "report_url"},
		{func(o *mangadex.Options) { o.SiteURL = "" }, "site_url"},
		{func(o *mangadex.Options) { o.Languages = nil }, "languages"},
		{func(o *mangadex.Options) { o.Languages = []string{"english"} }, "languages"},
		{func(o *mangadex.Options) { o.ContentRatings = []string{"safe", "spicy"} }, "content_ratings"},
		{func(o *mangadex.Options) { o.PreferredGroups = []string{" "} }, "preferred_groups"},
	} {
		o := info.Options().(*mangadex.Options)
		tc.edit(o)
		if _, err := info.New(o); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("New with bad %s: err = %v, want one naming the key", tc.key, err)
		}
	}
}

func TestMangaDexChapter(t *testing.T) {
	const base = "https://uploads.mangadex.org"
	for _, tc := range []struct {
		name, optQuality, reqQuality, want string
	}{
		{"default data", "data", "", "data"},
		{"request data-saver", "data", "data-saver", "data-saver"},
		{"option data-saver", "data-saver", "", "data-saver"},
		{"request original", "data-saver", "original", "data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.atHomeBases = []string{base}
			h := newTestHandler(t, api, "", func(o *mangadex.Options) { o.Quality = tc.optQuality })
			env, _ := testEnv(t, h)
			chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/chapter/"+chapterID, "", "", tc.reqQuality))
			if err != nil {
				t.Fatal(err)
			}
			if len(chs) != 1 {
				t.Fatalf("%d chapters", len(chs))
			}
			c := chs[0]
			if c.Site != "mangadex" || c.ID != chapterID || c.Number != "7.5" || c.Volume != "2" ||
				c.Title != "The Reading Room" || c.Language != "en" || c.Series != "The Library Beyond the Clouds" ||
				c.SourceURL != "https://mangadex.org/chapter/"+chapterID {
				t.Errorf("chapter = %+v", c)
			}
			if want := []string{"Alpha Scans", "Beta Scans", "MangaDex"}; !slices.Equal(c.Credits, want) {
				t.Errorf("Credits = %q, want %q", c.Credits, want)
			}
			if c.RefreshAfter != 5*time.Minute || c.Refresh == nil {
				t.Errorf("RefreshAfter = %v, Refresh set %v", c.RefreshAfter, c.Refresh != nil)
			}
			var fixture struct {
				Chapter struct{ Data, DataSaver []string }
			}
			json.Unmarshal(readFixture(t, "at_home.json"), &fixture)
			files := fixture.Chapter.Data
			if tc.want == "data-saver" {
				files = fixture.Chapter.DataSaver
			}
			var got []string
			for _, p := range c.Pages {
				got = append(got, p.URL)
				if p.Header.Get("Authorization") != "" || p.Header.Get("Via") != "" {
					t.Errorf("page header %v", p.Header)
				}
			}
			var want []string
			for _, f := range files {
				want = append(want, base+"/"+tc.want+"/"+chapterHash+"/"+f)
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages\n got %q\nwant %q", got, want)
			}
			for _, hit := range api.rec.all() {
				if hit.Header.Get("User-Agent") != testUA || hit.Header.Get("Authorization") != "" || hit.Header.Get("Via") != "" {
					t.Errorf("API request %s headers %v", hit.Path, hit.Header)
				}
			}
			if n := len(api.rec.paths("/at-home/server/" + chapterID)); n != 1 {
				t.Errorf("%d at-home requests", n)
			}
		})
	}
}

func TestMangaDexChapterErrors(t *testing.T) {
	api := newFakeAPI(t)
	api.atHomeBases = []string{"https://uploads.mangadex.org"}
	h := newTestHandler(t, api, "", nil)
	env, _ := testEnv(t, h)
	for _, tc := range []struct {
		id       string
		is       error
		contains string
	}{
		{"a1b2c3d4-0000-4000-8000-00000000cfff", sites.ErrNotFound, "could not be found"},
		{"a1b2c3d4-0000-4000-8000-00000000c002", sites.ErrExternal, "read it at https://mangaplus.shueisha.co.jp/viewer/1000123"},
		{"a1b2c3d4-0000-4000-8000-00000000c003", sites.ErrExternal, "no pages"},
		{"a1b2c3d4-0000-4000-8000-00000000c004", sites.ErrLayout, "site layout not recognised"},
		{"a1b2c3d4-0000-4000-8000-00000000c005", nil, "Error validating /contentRating/0"},
	} {
		_, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/chapter/"+tc.id, "", "", ""))
		if err == nil || !strings.Contains(err.Error(), tc.contains) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("chapter %s: err = %v, want %v containing %q", tc.id, err, tc.is, tc.contains)
		}
	}
	if n := len(api.rec.paths("/at-home/")); n != 0 {
		t.Errorf("%d at-home requests for chapters that cannot be downloaded", n)
	}
	if _, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/3b4c5d6e-7f80-4192-83a4-b5c6d7e8f901", "", "", "")); !errors.Is(err, sites.ErrNotFound) {
		t.Errorf("unknown title: err = %v", err)
	}
}

func chapterIDs(chs []*sites.Chapter) string {
	var s []string
	for _, c := range chs {
		s = append(s, c.Number+"="+strings.TrimPrefix(c.ID, "a1b2c3d4-0000-4000-8000-000000000"))
	}
	return strings.Join(s, " ")
}

func TestMangaDexTitleSelection(t *testing.T) {
	const beta = "6f1c0a00-aaaa-4aaa-8aaa-000000000002"
	for _, tc := range []struct {
		sel       string
		preferred []string
		max       int
		want      string // "number=id-suffix ..."
		is        error
		contains  string
	}{
		{sel: "1-3", want: "1=101 2=102 3=104"},
		{sel: "1-3", preferred: []string{"Nobody", "beta scans"}, want: "1=101 2=103 3=104"},
		{sel: "2", preferred: []string{beta}, want: "2=103"},
		{sel: "all", want: "1=101 2=102 3=104 5=106"},
		{sel: "", want: "1=101 2=102 3=104 5=106"},
		{sel: "4-5", want: "5=106"},
		{sel: "last", is: sites.ErrExternal, contains: "https://mangaplus.shueisha.co.jp/viewer/1000006"},
		{sel: "4", is: sites.ErrExternal, contains: "https://mangaplus.shueisha.co.jp/viewer/1000004"},
		{sel: "9", is: sites.ErrNotFound},
		{sel: "all", max: 3, is: sites.ErrBadSelection},
		{sel: "one", is: sites.ErrBadSelection},
	} {
		t.Run(tc.sel+"/"+strings.Join(tc.preferred, ","), func(t *testing.T) {
			api := newFakeAPI(t)
			node := newFakeNode(t, "MISS")
			api.atHomeBases = []string{node.URL}
			h := newTestHandler(t, api, "", func(o *mangadex.Options) { o.PreferredGroups = tc.preferred })
			env, _ := testEnv(t, h)
			if tc.max > 0 {
				env.MaxChapters = tc.max
			}
			chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID+"/kumo-no-mukou", tc.sel, "", ""))
			if tc.is != nil {
				if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.contains) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.is, tc.contains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := chapterIDs(chs); got != tc.want {
				t.Errorf("chapters %q, want %q", got, tc.want)
			}
			groups := map[string]string{"101": "Alpha Scans", "102": "Alpha Scans", "103": "Beta Scans", "104": "Beta Scans", "106": "Alpha Scans"}
			for _, c := range chs {
				suffix := c.ID[len(c.ID)-3:]
				if c.Series != "The Library Beyond the Clouds" || c.Language != "en" || c.SourceURL != "https://mangadex.org/chapter/"+c.ID {
					t.Errorf("chapter %+v", c)
				}
				if want := []string{groups[suffix], "MangaDex"}; !slices.Equal(c.Credits, want) {
					t.Errorf("chapter %s credits %q, want %q", c.Number, c.Credits, want)
				}
				// Pages are loaded later, one at-home call per chapter
				// when its download starts; meanwhile the feed's count.
				if len(c.Pages) != 0 || c.PageCount != 3 || c.Refresh == nil || c.RefreshAfter != 5*time.Minute {
					t.Errorf("chapter %s: %d pages, PageCount %d, Refresh set %v, RefreshAfter %v; want none yet, 3, true, 5m",
						c.Number, len(c.Pages), c.PageCount, c.Refresh != nil, c.RefreshAfter)
				}
			}
			if n := len(api.rec.paths("/at-home/")); n != 0 {
				t.Errorf("%d at-home requests while resolving %d chapters, want none", n, len(chs))
			}
			// Refresh, as the pipeline calls it just before a chapter's
			// download, loads the chapter's pages from the node.
			for _, c := range chs {
				if c.Refresh == nil {
					continue
				}
				pages, err := c.Refresh(testCtx(t))
				if err != nil {
					t.Fatalf("chapter %s: Refresh: %v", c.Number, err)
				}
				if len(pages) != 3 || !strings.HasPrefix(pages[0].URL, node.URL+"/data/"+chapterHash+"/1-") {
					t.Errorf("chapter %s pages %v", c.Number, pages)
				}
				if n := len(api.rec.paths("/at-home/server/" + c.ID)); n != 1 {
					t.Errorf("chapter %s: at-home asked %d times, want once", c.Number, n)
				}
			}
		})
	}
}

// A series link resolves without asking /at-home/server at all; each
// chapter's Refresh asks once, when the pipeline gets to it, and the pages
// it gives download through the fetcher.
func TestMangaDexTitleLazyPages(t *testing.T) {
	api := newFakeAPI(t)
	node := newFakeNode(t, "MISS")
	api.atHomeBases = []string{node.URL}
	h := newTestHandler(t, api, "", nil)
	env, f := testEnv(t, h)
	ctx := testCtx(t)
	chs, err := h.Resolve(ctx, env, testRequest(t, "https://mangadex.org/title/"+mangaID, "all", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chapterIDs(chs), "1=101 2=102 3=104 5=106"; got != want {
		t.Fatalf("chapters %q, want %q", got, want)
	}
	if hits := api.rec.paths("/at-home/"); len(hits) != 0 {
		t.Fatalf("resolve asked at-home %d times, want 0", len(hits))
	}
	for i, c := range chs {
		if len(c.Pages) != 0 || c.PageCount != 3 || c.Refresh == nil {
			t.Fatalf("chapter %s: %d pages, PageCount %d, Refresh set %v", c.Number, len(c.Pages), c.PageCount, c.Refresh != nil)
		}
		pages, err := c.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(api.rec.paths("/at-home/")); n != i+1 {
			t.Errorf("after chapter %s: %d at-home requests, want %d", c.Number, n, i+1)
		}
		res, err := f.Fetch(ctx, download.Batch{Pages: pages, Dir: t.TempDir(), Refresh: c.Refresh})
		if err != nil || res.Failed != 0 || len(res.Pages) != c.PageCount {
			t.Errorf("chapter %s: fetched %d pages, %d failed, err %v; want %d", c.Number, len(res.Pages), res.Failed, err, c.PageCount)
		}
	}
}

// Some series start numbering again with each volume: chapter 1 of volume
// 2 is not chapter 1 of volume 1. An upload without a volume is the same
// chapter as the uploads of its number when those all lie in one volume;
// when the number occurs in several volumes it stays a chapter of its own.
func TestMangaDexVolumeNumbering(t *testing.T) {
	const beta = "6f1c0a00-aaaa-4aaa-8aaa-000000000002"
	// feed_volumes.json: 301 v1 c1, 302 v1 c2, 303 v2 c1, 304 v2 c2 (Alpha),
	// 305 v2 c2 (Beta), 306 v2 c3 (Alpha), then without a volume (Beta):
	// 307 c3, 308 c4, 309 c1.
	for _, tc := range []struct {
		sel       string
		preferred []string
		want      string
	}{
		{"all", nil, "1=301 2=302 1=303 2=304 3=306 4=308 1=309"},
		{"all", []string{beta}, "1=301 2=302 1=303 2=305 3=307 4=308 1=309"},
		{"2", nil, "2=302 2=304"},
		{"3", []string{beta}, "3=307"},
		{"last", nil, "1=309"},
	} {
		t.Run(tc.sel+"/"+strings.Join(tc.preferred, ","), func(t *testing.T) {
			api := newFakeAPI(t)
			api.feedFile = "feed_volumes.json"
			api.atHomeBases = []string{"https://uploads.mangadex.org"}
			h := newTestHandler(t, api, "", func(o *mangadex.Options) { o.PreferredGroups = tc.preferred })
			env, _ := testEnv(t, h)
			chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, tc.sel, "", ""))
			if err != nil {
				t.Fatal(err)
			}
			if got := chapterIDs(chs); got != tc.want {
				t.Errorf("chapters %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMangaDexFeedPaging(t *testing.T) {
	api := newFakeAPI(t)
	api.feedPage = 3 // the server answers 3 items per request, whatever the limit
	api.atHomeBases = []string{"https://uploads.mangadex.org"}
	h := newTestHandler(t, api, "", nil)
	env, _ := testEnv(t, h)
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, "all", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chapterIDs(chs), "1=101 2=102 3=104 5=106"; got != want {
		t.Errorf("chapters %q, want %q", got, want)
	}
	feed := api.rec.paths("/manga/" + mangaID + "/feed")
	var offsets []string
	for _, hit := range feed {
		q := hit.Query
		offsets = append(offsets, q.Get("offset"))
		if q.Get("limit") != "500" || !slices.Equal(q["translatedLanguage[]"], []string{"en"}) ||
			!slices.Equal(q["contentRating[]"], []string{"safe", "suggestive", "erotica"}) ||
			!slices.Equal(q["includes[]"], []string{"scanlation_group"}) ||
			q.Get("order[volume]") != "asc" || q.Get("order[chapter]") != "asc" {
			t.Errorf("feed query %v", q)
		}
	}
	// 7 English uploads, 3 per answer: offsets 0, 3, 6, then stop at total.
	if !slices.Equal(offsets, []string{"0", "3", "6"}) {
		t.Errorf("feed offsets %q, want 0 3 6", offsets)
	}
}

// The feed serves no further than offset+limit = 10,000: the handler stops
// there instead of asking for what the API refuses.
func TestMangaDexFeedWindow(t *testing.T) {
	api := newFakeAPI(t)
	api.generated = 10450
	api.atHomeBases = []string{"https://uploads.mangadex.org"}
	h := newTestHandler(t, api, "", nil)
	env, _ := testEnv(t, h)
	// "last" is past the window: the user is told how much was left out,
	// rather than given chapter 10000 as the last one.
	_, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, "last", "", ""))
	if !errors.Is(err, sites.ErrBadSelection) || !strings.Contains(err.Error(), "counts 10450 uploads") || !strings.Contains(err.Error(), "450 uploads from chapter 10000 on were left out") {
		t.Errorf("last: err = %v, want one telling 450 uploads were left out", err)
	}
	feed := api.rec.paths("/manga/" + mangaID + "/feed")
	if len(feed) != 20 {
		t.Errorf("%d feed requests, want 20", len(feed))
	}
	for i, hit := range feed {
		if hit.Query.Get("offset") != strconv.Itoa(i*500) || hit.Query.Get("limit") != "500" {
			t.Errorf("request %d: offset %s limit %s", i, hit.Query.Get("offset"), hit.Query.Get("limit"))
		}
	}
	// Chapters within the window are served as before.
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, "9990-9991", "", ""))
	if err != nil || len(chs) != 2 || chs[1].Number != "9991" {
		t.Errorf("9990-9991: %q, %v", chapterIDs(chs), err)
	}
}

func TestMangaDexLanguage(t *testing.T) {
	api := newFakeAPI(t)
	api.atHomeBases = []string{"https://uploads.mangadex.org"}

	// The request's language replaces the configured ones.
	h := newTestHandler(t, api, "", nil)
	env, _ := testEnv(t, h)
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, "last", "fr", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := chapterIDs(chs); got != "2=202" || chs[0].Language != "fr" || !slices.Equal(chs[0].Credits, []string{"Gamma Traductions", "MangaDex"}) {
		t.Errorf("got %q %+v", got, chs[0])
	}
	for _, hit := range api.rec.paths("/manga/" + mangaID + "/feed") {
		if l := hit.Query["translatedLanguage[]"]; !slices.Equal(l, []string{"fr"}) {
			t.Errorf("translatedLanguage[] = %q, want [fr]", l)
		}
	}

	// Several configured languages: all are asked for, and a chapter
	// number is taken in the first language that has it.
	api.rec.reset()
	h = newTestHandler(t, api, "", func(o *mangadex.Options) { o.Languages = []string{"fr", "en"} })
	env, _ = testEnv(t, h)
	chs, err = h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/title/"+mangaID, "1-3", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chapterIDs(chs), "1=201 2=202 3=104"; got != want {
		t.Errorf("chapters %q, want %q", got, want)
	}
	for _, hit := range api.rec.paths("/manga/" + mangaID + "/feed") {
		if l := hit.Query["translatedLanguage[]"]; !slices.Equal(l, []string{"fr", "en"}) {
			t.Errorf("translatedLanguage[] = %q, want [fr en]", l)
		}
	}
}

func TestMangaDexSearch(t *testing.T) {
	api := newFakeAPI(t)
	h := newTestHandler(t, api, "", func(o *mangadex.Options) { o.ContentRatings = []string{"safe"} })
	env, _ := testEnv(t, h)
	res, err := h.(sites.Searcher).Search(testCtx(t), env, "library")
	if err != nil {
		t.Fatal(err)
	}
	want := []sites.SearchResult{
		{Title: "The Library Beyond the Clouds", URL: "https://mangadex.org/title/" + mangaID},
		{Title: "Library Wars", URL: "https://mangadex.org/title/3b4c5d6e-7f80-4192-83a4-b5c6d7e8f901"},
	}
	if !slices.Equal(res, want) {
		t.Errorf("results %+v, want %+v", res, want)
	}
	hits := api.rec.paths("/manga")
	if len(hits) != 1 {
		t.Fatalf("%d requests", len(hits))
	}
	q := hits[0].Query
	if q.Get("title") != "library" || q.Get("limit") != "10" || q.Get("order[relevance]") != "desc" || !slices.Equal(q["contentRating[]"], []string{"safe"}) {
		t.Errorf("search query %v", q)
	}
}

// A 429 with X-RateLimit-Retry-After (a Unix time) is waited out and the
// request retried.
func TestMangaDexRateLimited(t *testing.T) {
	api := newFakeAPI(t)
	api.atHomeBases = []string{"https://uploads.mangadex.org"}
	api.throttle = "/chapter/"
	h := newTestHandler(t, api, "", nil)
	env, f := testEnv(t, h)
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/chapter/"+chapterID, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || len(chs[0].Pages) != 3 {
		t.Fatalf("chapters %v", chs)
	}
	hits := api.rec.paths("/chapter/")
	if len(hits) != 2 {
		t.Fatalf("%d chapter requests, want the 429 and its retry", len(hits))
	}
	api.mu.Lock()
	ts := api.throttleTS
	api.mu.Unlock()
	if hits[1].At.Before(ts) {
		t.Errorf("retried at %v, before X-RateLimit-Retry-After %v", hits[1].At, ts)
	}
	if n := f.Stats().RateLimited["127.0.0.1"]; n != 1 {
		t.Errorf("fetcher counted %d 429s", n)
	}
}

// The first image node fails some pages on every try; the fetcher asks the
// chapter's Refresh, which gets a second node from at-home, and only the
// failed pages are fetched there. Every fetch is reported in the
// background, even while the report endpoint hangs.
func TestMangaDexNodeFailureRefreshAndReports(t *testing.T) {
	var fixture struct {
		Chapter struct{ Data []string }
	}
	json.Unmarshal(readFixture(t, "at_home.json"), &fixture)
	files := fixture.Chapter.Data
	node1 := newFakeNode(t, "MISS", files[1], files[2])
	node2 := newFakeNode(t, "HIT from node-2")
	reports := newFakeReports(t)
	api := newFakeAPI(t)
	api.atHomeBases = []string{node1.URL, node2.URL}
	h := newTestHandler(t, api, reports.URL+"/report", nil)
	env, f := testEnv(t, h)
	ctx := testCtx(t)

	chs, err := h.Resolve(ctx, env, testRequest(t, "https://mangadex.org/chapter/"+chapterID, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	ch := chs[0]
	dir := t.TempDir()
	res, err := f.Fetch(ctx, download.Batch{Pages: ch.Pages, Dir: dir, Refresh: ch.Refresh, Report: ch.Report})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		t.Fatalf("%d pages failed: %+v", res.Failed, res.Pages)
	}
	for i, file := range files {
		got, err := os.ReadFile(download.PageFile(dir, i) + ".png")
		if err != nil || !bytes.Equal(got, pagePNG(file)) {
			t.Errorf("page %d: %v, content ok %v", i+1, err, bytes.Equal(got, pagePNG(file)))
		}
	}
	if n := len(api.rec.paths("/at-home/server/" + chapterID)); n != 2 {
		t.Errorf("%d at-home requests, want 2 (resolve, refresh)", n)
	}
	var node2Files []string
	for _, hit := range node2.rec.all() {
		node2Files = append(node2Files, path.Base(hit.Path))
	}
	slices.Sort(node2Files)
	if !slices.Equal(node2Files, files[1:]) {
		t.Errorf("node 2 served %q, want only the failed %q", node2Files, files[1:])
	}
	for _, n := range []*fakeNode{node1, node2} {
		for _, hit := range n.rec.all() {
			if hit.Header.Get("User-Agent") != testUA || len(hit.Header.Values("Authorization")) > 0 || len(hit.Header.Values("Via")) > 0 {
				t.Errorf("image request %s headers %v", hit.Path, hit.Header)
			}
		}
	}

	// The download finished while the report endpoint held its first
	// report; now let them through.
	close(reports.release)
	url1 := func(i int) string { return node1.URL + "/data/" + chapterHash + "/" + files[i] }
	url2 := func(i int) string { return node2.URL + "/data/" + chapterHash + "/" + files[i] }
	find := func(rs []sentReport, u string, success bool) *sentReport {
		for i := range rs {
			if rs[i].URL == u && rs[i].Success == success {
				return &rs[i]
			}
		}
		return nil
	}
	got := reports.waitReports(t, ctx, func(rs []sentReport) bool {
		return find(rs, url1(0), true) != nil && find(rs, url1(1), false) != nil && find(rs, url1(2), false) != nil &&
			find(rs, url2(1), true) != nil && find(rs, url2(2), true) != nil
	})
	if r := find(got, url1(0), true); r.Cached || r.Bytes != int64(len(pagePNG(files[0]))) || r.Duration < 0 {
		t.Errorf("node 1 page 1 report %+v", r)
	}
	for i := 1; i < 3; i++ {
		if r := find(got, url2(i), true); !r.Cached || r.Bytes != int64(len(pagePNG(files[i]))) {
			t.Errorf("node 2 page %d report %+v", i+1, r)
		}
		if r := find(got, url1(i), false); r.Bytes != 0 {
			t.Errorf("failed page %d report %+v", i+1, r)
		}
	}
	for _, hit := range reports.rec.all() {
		if hit.Method != http.MethodPost || hit.Path != "/report" || len(hit.Header.Values("Content-Type")) != 1 ||
			hit.Header.Get("Content-Type") != "application/json" || hit.Header.Get("User-Agent") != testUA {
			t.Errorf("report request %s %s headers %v", hit.Method, hit.Path, hit.Header)
		}
	}
	for _, r := range got {
		if !strings.HasPrefix(r.URL, node1.URL+"/") && !strings.HasPrefix(r.URL, node2.URL+"/") {
			t.Errorf("report for %s", r.URL)
		}
	}
}

// Images served by MangaDex itself (uploads.mangadex.org) are not reported.
func TestMangaDexNoReportForMangaDexOrg(t *testing.T) {
	reports := newFakeReports(t)
	close(reports.release)
	api := newFakeAPI(t)
	api.atHomeBases = []string{"https://uploads.mangadex.org", "https://abc123.def456.mangadex.network:443/token"}
	h := newTestHandler(t, api, reports.URL+"/report", nil)
	env, _ := testEnv(t, h)
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/chapter/"+chapterID, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	ch := chs[0]
	if ch.Report == nil {
		t.Fatal("no Report func")
	}
	// What the fetcher would report for the uploads.mangadex.org pages...
	for _, p := range ch.Pages {
		ch.Report(download.FetchReport{URL: p.URL, Success: true, Bytes: 1000, Duration: 20 * time.Millisecond})
	}
	// ...then for an @Home node after a refresh. Reports are sent in
	// order, so once this one arrived, an earlier one would have too.
	fresh, err := ch.Refresh(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ch.Report(download.FetchReport{URL: fresh[0].URL, Success: true, Cached: true, Bytes: 1234, Duration: 56 * time.Millisecond})
	got := reports.waitReports(t, testCtx(t), func(rs []sentReport) bool { return len(rs) > 0 })
	want := sentReport{URL: fresh[0].URL, Success: true, Cached: true, Bytes: 1234, Duration: 56}
	if len(got) != 1 || got[0] != want {
		t.Errorf("reports %+v, want only %+v", got, want)
	}
}

// Drain waits for the queued MangaDex@Home reports (the CLI calls it
// before exiting, the bot at shutdown), within its bound: while the report
// endpoint holds them it returns with the count unsent; once they can go
// it returns when all were sent.
func TestMangaDexDrainReports(t *testing.T) {
	reports := newFakeReports(t)
	api := newFakeAPI(t)
	api.atHomeBases = []string{"https://abc123.def456.mangadex.network:443/token"}
	h := newTestHandler(t, api, reports.URL+"/report", nil)
	env, _ := testEnv(t, h)
	chs, err := h.Resolve(testCtx(t), env, testRequest(t, "https://mangadex.org/chapter/"+chapterID, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := h.(sites.Drainer)
	if !ok {
		t.Fatal("the MangaDex handler is not a sites.Drainer")
	}
	if n := d.Drain(testCtx(t)); n != 0 {
		t.Fatalf("nothing queued, Drain says %d unsent", n)
	}
	ch := chs[0]
	for _, p := range ch.Pages {
		ch.Report(download.FetchReport{URL: p.URL, Success: true, Bytes: 1000, Duration: 20 * time.Millisecond})
	}
	// The endpoint holds the first report: the bound ends the wait.
	<-reports.arrived
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if n := d.Drain(short); n != len(ch.Pages) {
		t.Errorf("Drain while the endpoint holds reports: %d unsent, want %d", n, len(ch.Pages))
	}
	close(reports.release)
	if n := d.Drain(testCtx(t)); n != 0 {
		t.Errorf("Drain after release: %d unsent", n)
	}
	if got := len(reports.rec.all()); got != len(ch.Pages) {
		t.Errorf("%d reports received, want %d", got, len(ch.Pages))
	}
}
