package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	_ "github.com/mangabot/mangabot/sites/all"
	"github.com/mangabot/mangabot/store"
)

// mangaSite is a loopback manga site: /chapter/<name>?n=<pages> is a
// gallery page, /img/<name>/<i>.jpg its images. With a gate, every image
// request waits for a token (or its client going away: aborted counts
// those).
type mangaSite struct {
	*httptest.Server
	side     int
	imgReqs  atomic.Int64
	aborted  atomic.Int64
	gate     chan struct{}
	mu       sync.Mutex
	cache    map[string][]byte
	noImages bool
	// hold, when set, holds every request but images until closed (a slow
	// site: links resolve past ResolveWait).
	hold chan struct{}
}

// newSite starts a site with images of side pixels; gated: every image
// waits for release.
func newSite(t *testing.T, side int, gated bool) *mangaSite {
	s := &mangaSite{side: side, cache: map[string][]byte{}}
	if gated {
		s.gate = make(chan struct{}, 1000)
	}
	return s.serveOn(t)
}

// newHeldSite starts a site whose pages (not images) wait until hold is
// closed: links resolve as slowly as the test wants.
func newHeldSite(t *testing.T, side int) *mangaSite {
	s := &mangaSite{side: side, cache: map[string][]byte{}, hold: make(chan struct{})}
	return s.serveOn(t)
}

func (s *mangaSite) serveOn(t *testing.T) *mangaSite {
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *mangaSite) release(n int) {
	for range n {
		s.gate <- struct{}{}
	}
}

func (s *mangaSite) jpeg(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.cache[key]; ok {
		return b
	}
	seed := int64(len(s.cache) + 1)
	r := rand.New(rand.NewSource(seed))
	img := image.NewRGBA(image.Rect(0, 0, s.side, s.side*3/2))
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			img.Set(x, y, color.RGBA{uint8(r.Intn(256)), uint8(x), uint8(y), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	s.cache[key] = buf.Bytes()
	return buf.Bytes()
}

func (s *mangaSite) serve(w http.ResponseWriter, r *http.Request) {
	if s.hold != nil && !strings.HasPrefix(r.URL.Path, "/img/") {
		select {
		case <-s.hold:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/chapter/"):
		name := strings.TrimPrefix(r.URL.Path, "/chapter/")
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>Test Manga Chapter %s</title></head><body><h1>Test Manga Chapter %s</h1><div id=\"reader\">\n", name, name)
		if r.URL.Query().Get("empty") == "" {
			for i := 1; i <= n; i++ {
				fmt.Fprintf(w, "<img src=\"/img/%s/%d.jpg\" alt=\"page %d\">\n", name, i, i)
			}
		}
		fmt.Fprint(w, "</div></body></html>")
	case strings.HasPrefix(r.URL.Path, "/img/"):
		s.imgReqs.Add(1)
		if s.gate != nil {
			select {
			case <-s.gate:
			case <-r.Context().Done():
				s.aborted.Add(1)
				return
			}
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(s.jpeg(r.URL.Path))
	default:
		http.NotFound(w, r)
	}
}

type harness struct {
	t      *testing.T
	fd     *fakediscord.Server
	bot    *Bot
	cfg    Config
	cancel context.CancelFunc
	errc   chan error
}

// newEnv builds the test env with metrics hooks (m may be nil) and site
// options (nil: defaults).
func newEnv(t *testing.T, m *metrics.Metrics, siteOpts map[string]any) *pipeline.Env {
	f := download.New(download.Options{
		Observer:      m.Observer(),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		BackoffBase:   10 * time.Millisecond,
		BackoffMax:    50 * time.Millisecond,
		Retries:       1,
		Concurrency:   4,
		Rate:          1000,
		Burst:         100,
	})
	set, err := sites.NewSet(siteOpts)
	if err != nil {
		t.Fatal(err)
	}
	env := &pipeline.Env{Fetcher: f, Sites: set, SiteEnv: sites.Env{Client: f.Client(), UserAgent: "mangabot-test", MaxChapters: 10}, Producer: "mangabot test"}
	if m != nil {
		env.Observe = m.Observe
	}
	return env
}

// testConfig is the operator's defaults (config.Default, through
// ConfigFrom: the bot's one source of defaults) with what a test needs:
// its fake Discord, a temp dir, fast edits and retries, and no store,
// cache or metrics server unless the test asks (tests run in parallel and
// each tests one thing).
func testConfig(t *testing.T, fd *fakediscord.Server) Config {
	cfg := ConfigFrom(config.Default())
	cfg.Token = "test-token"
	cfg.APIURL = fd.URL
	cfg.GuildIDs = []string{"g1", "g2"}
	cfg.EditInterval = 10 * time.Millisecond
	cfg.RetryDelay = 10 * time.Millisecond
	cfg.OutputDir = t.TempDir()
	cfg.StorePath = ""
	cfg.CacheKeep = 0
	cfg.MetricsListen = ""
	return cfg
}

// startOptions are what a test may set beyond the config.
type startOptions struct {
	discord  *fakediscord.Server // nil: a fresh one
	logger   *slog.Logger        // nil: discarded, or stderr with -v
	siteOpts map[string]any      // nil: the handlers' defaults
	format   book.Format         // the default output format ("": PDF)
}

// start runs a bot against a fresh fake Discord. mod adjusts the config.
func start(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	return startWith(t, mod, startOptions{})
}

// startWith runs a bot with the config testConfig makes, adjusted by mod.
func startWith(t *testing.T, mod func(*Config), o startOptions) *harness {
	t.Helper()
	fd := o.discord
	if fd == nil {
		fd = fakediscord.New()
		t.Cleanup(fd.Close)
	}
	cfg := testConfig(t, fd)
	if mod != nil {
		mod(&cfg)
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	env := newEnv(t, cfg.Metrics, o.siteOpts)
	env.Format = o.format
	b, err := New(cfg, env, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, fd: fd, bot: b, cfg: cfg, cancel: cancel, errc: make(chan error, 1)}
	go func() { h.errc <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.errc:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	h.waitFor("commands registered", func() bool {
		if len(cfg.GuildIDs) == 0 {
			return fd.Commands("global") != nil
		}
		return fd.Commands(cfg.GuildIDs[len(cfg.GuildIDs)-1]) != nil
	})
	return h
}

// restartable is what outlives one bot in restart tests: the fake
// Discord, the output dir and the job store.
type restartable struct {
	fd      *fakediscord.Server
	out, db string
}

func newRestartable(t *testing.T) *restartable {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	return &restartable{fd: fd, out: t.TempDir(), db: filepath.Join(t.TempDir(), "store.db")}
}

// start runs a bot on them; mod (may be nil) adjusts the config further.
func (r *restartable) start(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	return startWith(t, func(c *Config) {
		c.OutputDir, c.StorePath = r.out, r.db
		if mod != nil {
			mod(c)
		}
	}, startOptions{discord: r.fd})
}

// stop ends a harness's bot and waits for Run to return.
func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.errc:
		if err != nil {
			h.t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		h.t.Fatal("Run did not return")
	}
	h.errc <- nil
}

// waitFor waits (bounded, as a failure guard only) until cond holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	// Conditions on the fake wake on its changes; others (bot state) are
	// polled.
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		h.fd.Wait(ctx, cond)
		cancel()
	}
}

func (h *harness) waitIdle() {
	h.t.Helper()
	h.waitFor("no jobs", func() bool {
		h.bot.mu.Lock()
		defer h.bot.mu.Unlock()
		return len(h.bot.jobs) == 0
	})
}

type dl struct {
	guild string // default g1
	user  string
	perms int64
	limit int64
	opts  map[string]string
	flags map[string]bool // boolean options
}

// command dispatches /manga <sub> and returns the interaction token.
func (h *harness) command(sub string, d dl) string {
	h.t.Helper()
	var opts []map[string]any
	for k, v := range d.opts {
		opts = append(opts, map[string]any{"name": k, "type": 3, "value": v})
	}
	for k, v := range d.flags {
		opts = append(opts, map[string]any{"name": k, "type": 5, "value": v})
	}
	guild := d.guild
	if guild == "" {
		guild = "g1"
	}
	_, tok, err := h.fd.Dispatch(fakediscord.Interaction{Type: 2, GuildID: guild, ChannelID: channelOf(guild), UserID: d.user,
		Permissions: d.perms, AttachmentSizeLimit: d.limit,
		Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1,
			"options": []map[string]any{{"name": sub, "type": 1, "options": opts}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) download(user, url string, limit int64) string {
	return h.command("download", dl{user: user, limit: limit, opts: map[string]string{"url": url}})
}

// channelOf is the test channel of a guild: c1 in g1.
func channelOf(guild string) string {
	if guild == "g1" {
		return "c1"
	}
	return "c-" + guild
}

// downloadIn is download in a guild.
func (h *harness) downloadIn(guild, user, url string) string {
	return h.command("download", dl{guild: guild, user: user, opts: map[string]string{"url": url}})
}

// click presses a button as user and returns the interaction token.
func (h *harness) click(user string, perms int64, customID string) string {
	h.t.Helper()
	return h.clickIn("g1", user, perms, customID)
}

// clickIn presses a button in a guild.
func (h *harness) clickIn(guild, user string, perms int64, customID string) string {
	h.t.Helper()
	_, tok, err := h.fd.Dispatch(fakediscord.Interaction{Type: 3, GuildID: guild, ChannelID: channelOf(guild), UserID: user, Permissions: perms,
		Data: map[string]any{"custom_id": customID, "component_type": 2}, MessageID: "1"})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// callback returns the decoded interaction callback of a token, if any.
func (h *harness) callback(tok string) (map[string]any, bool) {
	for _, r := range h.fd.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/"+tok+"/callback") {
			var m map[string]any
			json.Unmarshal(r.Body, &m)
			return m, true
		}
	}
	return nil, false
}

func (h *harness) waitCallback(tok string) map[string]any {
	h.t.Helper()
	var cb map[string]any
	h.waitFor("callback", func() bool {
		var ok bool
		cb, ok = h.callback(tok)
		return ok
	})
	return cb
}

func flags(cb map[string]any) int {
	d, _ := cb["data"].(map[string]any)
	f, _ := d["flags"].(float64)
	return int(f)
}

func content(cb map[string]any) string {
	d, _ := cb["data"].(map[string]any)
	s, _ := d["content"].(string)
	return s
}

// refused checks that tok got an ephemeral answer containing want.
func (h *harness) refused(tok, want string) {
	h.t.Helper()
	cb := h.waitCallback(tok)
	if flags(cb)&64 == 0 || !strings.Contains(content(cb), want) {
		h.t.Fatalf("want an ephemeral refusal with %q, got %v", want, cb)
	}
}

type embed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Fields      []struct {
		Name, Value string
	} `json:"fields"`
	Footer struct {
		Text string `json:"text"`
	} `json:"footer"`
}

func embeds(m *fakediscord.Message) []embed {
	var out []embed
	if m == nil {
		return nil
	}
	for _, raw := range m.Embeds {
		var e embed
		json.Unmarshal(raw, &e)
		out = append(out, e)
	}
	return out
}

// statusText is the original's embed text (description and fields).
func statusText(m *fakediscord.Message) string {
	var sb strings.Builder
	if m != nil {
		sb.WriteString(m.Content + "\n")
	}
	for _, e := range embeds(m) {
		sb.WriteString(e.Title + "\n" + e.Description + "\n")
		for _, f := range e.Fields {
			sb.WriteString(f.Name + ": " + f.Value + "\n")
		}
		sb.WriteString(e.Footer.Text + "\n")
	}
	return sb.String()
}

var jobIDRe = regexp.MustCompile(`job ([0-9a-f]{10})`)

func (h *harness) jobID(tok string) string {
	h.t.Helper()
	var id string
	h.waitFor("job id", func() bool {
		m := jobIDRe.FindStringSubmatch(statusText(h.fd.Original(tok)))
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	return id
}

func (h *harness) originalHas(tok, s string) func() bool {
	return func() bool { return strings.Contains(statusText(h.fd.Original(tok)), s) }
}

func (h *harness) patches(tok string) []fakediscord.Request {
	var out []fakediscord.Request
	for _, r := range h.fd.Requests() {
		if r.Method == "PATCH" && strings.Contains(r.Path, "/"+tok+"/messages/@original") {
			out = append(out, r)
		}
	}
	return out
}

func (h *harness) waitAttachment(tok string) {
	h.t.Helper()
	h.waitFor("attachment", func() bool {
		m := h.fd.Original(tok)
		return m != nil && len(m.Attachments) > 0
	})
}

// waitParts waits until tok's followups hold all "part i of N" files and
// returns them.
func (h *harness) waitParts(tok string) []fakediscord.Message {
	h.t.Helper()
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs)) && len(fs[len(fs)-1].Attachments) == 1
	})
	return h.fd.Followups(tok)
}

// partPages checks that every part carries one PDF of at most max bytes
// and returns their pages.
func partPages(t *testing.T, parts []fakediscord.Message, max int64) int {
	t.Helper()
	pages := 0
	for _, p := range parts {
		if len(p.Attachments) != 1 || int64(p.Attachments[0].Size) > max {
			t.Fatalf("bad part (want one file of at most %d bytes): %+v", max, p.Attachments)
		}
		pages += checkPDF(t, p.Attachments[0].Data())
	}
	return pages
}

// channelFiles are the channel messages carrying files, by file name.
func channelFiles(fd *fakediscord.Server) map[string]int {
	n := map[string]int{}
	for _, m := range fd.ChannelMessages() {
		for _, a := range m.Attachments {
			n[a.Filename]++
		}
	}
	return n
}

// checkPDF runs qpdf --check and pdfinfo on data and returns the page count.
func checkPDF(t *testing.T, data []byte) int {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("qpdf not installed")
		}
		t.Fatal("qpdf not installed (CI)")
	}
	p := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", p).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdfinfo", p).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page count\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// filesIn lists regular files under dir.
func filesIn(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func fakeFault(method, path string, n, status int) fakediscord.Fault {
	return fakediscord.Fault{Method: method, PathContains: path, Count: n, Status: status, Body: `{"message":"boom","code":0}`}
}

// putRecords writes job records into the store at db (as a crashed bot
// left them).
func putRecords(t *testing.T, db string, recs ...store.Job) {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range recs {
		if _, err := st.Put(r); err != nil {
			t.Fatal(err)
		}
	}
}

// record reads a job record from the store at db (the bot must be gone).
func record(t *testing.T, db, id string) store.Job {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, ok, err := st.Get(id)
	if err != nil || !ok {
		t.Fatalf("record %s: %v %v", id, ok, err)
	}
	return r
}

// deadRecord is a job record whose interaction token expired long ago.
func deadRecord(id, url string, st store.State) store.Job {
	return store.Job{ID: id, Request: store.Request{URL: url}, UserID: "u1", GuildID: "g1", ChannelID: "c1",
		AppID: "app", InteractionID: "i-" + id, InteractionToken: "tok-" + id,
		TokenExpires: time.Now().Add(-time.Hour), AttachmentLimit: 10 << 20, State: st, PagesTotal: 2}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// downloadAs is /manga download url:<url> format:<format>.
func (h *harness) downloadAs(user, url, format string, limit int64) string {
	return h.command("download", dl{user: user, limit: limit, opts: map[string]string{"url": url, "format": format}})
}

// attachmentFile writes an attachment to a temp file of its name.
func attachmentFile(t *testing.T, a fakediscord.Attachment) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), a.Filename)
	if err := os.WriteFile(p, a.Data(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkCBZ checks that the archive holds the site's pages first to last,
// as served, and a valid ComicInfo.xml; it returns how many pages.
func checkCBZ(t *testing.T, site *mangaSite, chapter string, first int, path string) int {
	t.Helper()
	heads, files := testtool.ReadZip(t, path)
	names := testtool.Names(heads)
	if len(names) < 2 || names[len(names)-1] != "ComicInfo.xml" {
		t.Fatalf("%s: entries %v", path, names)
	}
	for i, n := range names[:len(names)-1] {
		if n != fmt.Sprintf("%03d.jpg", i+1) {
			t.Errorf("%s: entry %d is %s", path, i, n)
		}
		if !bytes.Equal(files[n], site.jpeg(fmt.Sprintf("/img/%s/%d.jpg", chapter, first+i))) {
			t.Errorf("%s: %s is not page %d as served", path, n, first+i)
		}
	}
	testtool.ValidateXML(t, files["ComicInfo.xml"], filepath.Join("..", "cbz", "testdata", "ComicInfo-2.1.xsd"))
	if !strings.Contains(string(files["ComicInfo.xml"]), fmt.Sprintf("<PageCount>%d</PageCount>", len(names)-1)) {
		t.Errorf("%s: ComicInfo.xml:\n%s", path, files["ComicInfo.xml"])
	}
	return len(names) - 1
}
