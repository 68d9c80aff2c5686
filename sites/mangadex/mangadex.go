package mangadex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// Options are the [sites.mangadex] options.
type Options struct {
	Quality         string   `toml:"quality" help:"Image quality: \"data\" (original files) or \"data-saver\" (compressed). A request's quality overrides it."`
	APIURL          string   `toml:"api_url" help:"Base URL of the MangaDex API."`
	ReportURL       string   `toml:"report_url" help:"MangaDex@Home report endpoint: every image fetched from an @Home node is reported there, as MangaDex asks; empty: no reports."`
	Languages       []string `toml:"languages" help:"Translations to list for title links, in order of preference (e.g. \"en\", \"pt-br\"). A request's language overrides it."`
	ContentRatings  []string `toml:"content_ratings" help:"Content ratings allowed in title feeds and search: safe, suggestive, erotica, pornographic."`
	PreferredGroups []string `toml:"preferred_groups" help:"Scanlation groups (names or UUIDs) preferred when a chapter was uploaded several times; first listed wins."`
	SiteURL         string   `toml:"site_url" help:"MangaDex web site: links on this host (and www.) are taken, and chapter and title links point to it."`
}

// defaults returns the defaults of Options.
func defaults() *Options {
	return &Options{
		Quality:         "data",
		APIURL:          "https://api.mangadex.org",
		ReportURL:       "https://api.mangadex.network/report",
		Languages:       []string{"en"},
		ContentRatings:  []string{"safe", "suggestive", "erotica"},
		PreferredGroups: []string{},
		SiteURL:         "https://mangadex.org",
	}
}

func init() {
	sites.Register(sites.Info[Options]{
		Name:        "mangadex",
		Description: "MangaDex chapters and titles (API v5, MangaDex@Home images)",
		Patterns: []string{
			"https://mangadex.org/chapter/<uuid>",
			"https://mangadex.org/title/<uuid>[/slug]",
		},
		Options: defaults,
		New:     newHandler,
	})
}

const (
	feedPageSize  = 500    // largest limit the feed accepts
	feedMaxWindow = 10_000 // offset+limit may not exceed this
	refreshAfter  = 5 * time.Minute
	reportQueue   = 256 // reports waiting to be sent; more are dropped
	maxBody       = 32 << 20
	reportTimeout = 15 * time.Second
	creditSite    = "MangaDex"
)

var (
	uuidPattern  = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	chapterPath  = regexp.MustCompile(`^/chapter/(` + uuidPattern + `)(?:/[^/]*)?/?$`)
	titlePath    = regexp.MustCompile(`^/title/(` + uuidPattern + `)(?:/[^/]*)?/?$`)
	uuidOnly     = regexp.MustCompile(`^` + uuidPattern + `$`)
	languageCode = regexp.MustCompile(`^[a-z]{2,3}(?:-[a-z]{2,4})?$`)
)

var knownRatings = []string{"safe", "suggestive", "erotica", "pornographic"}

type handler struct {
	opts     Options
	api      *url.URL
	site     *url.URL
	report   *url.URL // nil: no reports
	pageSize int      // feed page size (limit)

	reports   chan queuedReport
	reporting atomic.Bool // a report worker is running

	// pending counts reports queued or being sent; idle is closed while it
	// is zero (Drain waits on it).
	pendMu  sync.Mutex
	pending int
	idle    chan struct{}
}

// queuedReport is one queued MangaDex@Home report.
type queuedReport struct {
	client *http.Client
	ua     string
	body   []byte
}

func newHandler(o *Options) (sites.Handler, error) {
	opts := *o
	m := &handler{pageSize: feedPageSize, reports: make(chan queuedReport, reportQueue), idle: make(chan struct{})}
	close(m.idle)

	opts.Quality = strings.ToLower(strings.TrimSpace(opts.Quality))
	switch opts.Quality {
	case "data", "data-saver":
	case "original":
		opts.Quality = "data"
	default:
		return nil, fmt.Errorf("quality: %q is not one of \"data\", \"data-saver\"", opts.Quality)
	}
	var err error
	if m.api, err = baseURL("api_url", opts.APIURL); err != nil {
		return nil, err
	}
	if m.site, err = baseURL("site_url", opts.SiteURL); err != nil {
		return nil, err
	}
	if strings.TrimSpace(opts.ReportURL) != "" {
		if m.report, err = baseURL("report_url", opts.ReportURL); err != nil {
			return nil, err
		}
	}
	if len(opts.Languages) == 0 {
		return nil, errors.New("languages: give at least one language code, e.g. [\"en\"]")
	}
	langs := make([]string, len(opts.Languages))
	for i, l := range opts.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if !languageCode.MatchString(l) {
			return nil, fmt.Errorf("languages: %q is not a language code (e.g. \"en\", \"pt-br\")", opts.Languages[i])
		}
		langs[i] = l
	}
	opts.Languages = langs
	if len(opts.ContentRatings) == 0 {
		return nil, fmt.Errorf("content_ratings: give at least one of %s", strings.Join(knownRatings, ", "))
	}
	ratings := make([]string, len(opts.ContentRatings))
	for i, r := range opts.ContentRatings {
		r = strings.ToLower(strings.TrimSpace(r))
		ok := false
		for _, known := range knownRatings {
			ok = ok || r == known
		}
		if !ok {
			return nil, fmt.Errorf("content_ratings: %q is not one of %s", opts.ContentRatings[i], strings.Join(knownRatings, ", "))
		}
		ratings[i] = r
	}
	opts.ContentRatings = ratings
	groups := make([]string, len(opts.PreferredGroups))
	for i, g := range opts.PreferredGroups {
		g = strings.TrimSpace(g)
		if g == "" {
			return nil, fmt.Errorf("preferred_groups: entry %d is empty", i+1)
		}
		groups[i] = g
	}
	opts.PreferredGroups = groups
	m.opts = opts
	return m, nil
}

func baseURL(key, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: %q is not an http(s) base URL", key, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Limits: MangaDex allows about 5 requests/s per IP on the API and 40/minute
// on /at-home/server. Reports go to their own host.
func (m *handler) Limits() []download.HostLimit {
	out := []download.HostLimit{
		{Host: m.api.Hostname(), Rate: 5, Burst: 5},
		{Host: m.api.Hostname(), Path: m.api.Path + "/at-home/server", Rate: 40.0 / 60, Burst: 3},
	}
	if m.report != nil && !strings.EqualFold(m.report.Hostname(), m.api.Hostname()) {
		out = append(out, download.HostLimit{Host: m.report.Hostname(), Rate: 10, Burst: 10})
	}
	return out
}

func (m *handler) hostOK(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	h := strings.ToLower(u.Host)
	site := strings.ToLower(m.site.Host)
	return h == site || h == "www."+site
}

// parseLink returns "chapter" or "title" and the lower-case uuid.
func (m *handler) parseLink(u *url.URL) (kind, id string) {
	if !m.hostOK(u) {
		return "", ""
	}
	if s := chapterPath.FindStringSubmatch(u.Path); s != nil {
		return "chapter", strings.ToLower(s[1])
	}
	if s := titlePath.FindStringSubmatch(u.Path); s != nil {
		return "title", strings.ToLower(s[1])
	}
	return "", ""
}

// Match takes every link on MangaDex's site, so a group or list link gets
// MangaDex's own clear error rather than the generic gallery's guesswork on
// a JavaScript app.
func (m *handler) Match(u *url.URL) bool { return m.hostOK(u) }

func (m *handler) quality(req string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(req)) {
	case "":
		return m.opts.Quality, nil
	case "original", "data":
		return "data", nil
	case "data-saver", "datasaver", "data_saver":
		return "data-saver", nil
	}
	return "", fmt.Errorf("unknown quality %q (use original or data-saver)", req)
}

func (m *handler) siteLink(kind, id string) string {
	return m.site.String() + "/" + kind + "/" + id
}

func (m *handler) Resolve(ctx context.Context, env sites.Env, req sites.Request) ([]*sites.Chapter, error) {
	kind, id := m.parseLink(req.URL)
	if kind == "" {
		return nil, fmt.Errorf("%w: not a MangaDex chapter or title link: %v (use %s/chapter/<uuid> or %s/title/<uuid>)", sites.ErrUnsupported, req.URL.Redacted(), m.site, m.site)
	}
	q, err := m.quality(req.Quality)
	if err != nil {
		return nil, err
	}
	if kind == "chapter" {
		ch, err := m.resolveChapter(ctx, env, id, q)
		if err != nil {
			return nil, err
		}
		return []*sites.Chapter{ch}, nil
	}
	return m.resolveTitle(ctx, env, req, id, q)
}

// ---- API JSON ----

type errorBody struct {
	Result string `json:"result"`
	Errors []struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

type entity struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Attributes    json.RawMessage `json:"attributes"`
	Relationships []relationship  `json:"relationships"`
}

type relationship struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Attributes json.RawMessage `json:"attributes"`
}

type entityResponse struct {
	Data *entity `json:"data"`
}

type collection struct {
	Data   []entity `json:"data"`
	Limit  *int     `json:"limit"`
	Offset *int     `json:"offset"`
	Total  *int     `json:"total"`
}

type chapterAttrs struct {
	Title              *string `json:"title"`
	Volume             *string `json:"volume"`
	Chapter            *string `json:"chapter"`
	Pages              *int    `json:"pages"`
	TranslatedLanguage *string `json:"translatedLanguage"`
	ExternalURL        *string `json:"externalUrl"`
}

type mangaAttrs struct {
	Title     map[string]string   `json:"title"`
	AltTitles []map[string]string `json:"altTitles"`
}

type atHomeAnswer struct {
	BaseURL string `json:"baseUrl"`
	Chapter *struct {
		Hash      string   `json:"hash"`
		Data      []string `json:"data"`
		DataSaver []string `json:"dataSaver"`
	} `json:"chapter"`
}

func layoutErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sites.ErrLayout}, a...)...)
}

// get asks the API for path?query and decodes the answer into v. A
// refusal carries the API's own words ("not found (HTTP 404): Chapter
// could not be found").
func (m *handler) get(ctx context.Context, env sites.Env, path string, query url.Values, v any) error {
	u := *m.api
	u.Path = m.api.Path + path
	resp, err := sites.Do(ctx, env, sites.Req{
		URL:      &u,
		Query:    query,
		Header:   http.Header{"Accept": {"application/json"}},
		MaxBytes: maxBody,
	})
	var se *sites.StatusError
	if errors.As(err, &se) {
		if msg := apiMessage(se.Body); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
	}
	if err != nil {
		return err
	}
	var eb errorBody
	if err := json.Unmarshal(resp.Body, &eb); err != nil {
		return layoutErr("%s did not answer JSON", path)
	}
	switch eb.Result {
	case "ok":
	case "error":
		return fmt.Errorf("%s refused: %s", path, apiMessage(resp.Body))
	default:
		return layoutErr("%s answered result %q", path, eb.Result)
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return layoutErr("%s: %v", path, err)
	}
	return nil
}

// apiMessage is the first error's detail (else title) of an API error
// document; "" when body is not one.
func apiMessage(body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || len(eb.Errors) == 0 {
		return ""
	}
	if d := eb.Errors[0].Detail; d != "" {
		return d
	}
	return eb.Errors[0].Title
}

// chapterInfo is a parsed chapter entity.
type chapterInfo struct {
	id       string
	number   string
	volume   string
	title    string
	lang     string
	pages    int
	external string
	groups   []group
	manga    *mangaAttrs
}

type group struct{ id, name string }

func (c *chapterInfo) downloadable() bool { return c.external == "" && c.pages > 0 }

func parseChapter(e *entity) (*chapterInfo, error) {
	if e == nil {
		return nil, layoutErr("chapter data missing")
	}
	if !uuidOnly.MatchString(e.ID) || e.Type != "chapter" {
		return nil, layoutErr("expected a chapter, got type %q id %q", e.Type, e.ID)
	}
	if len(e.Attributes) == 0 || string(e.Attributes) == "null" {
		return nil, layoutErr("chapter %s has no attributes", e.ID)
	}
	var a chapterAttrs
	if err := json.Unmarshal(e.Attributes, &a); err != nil {
		return nil, layoutErr("chapter %s attributes: %v", e.ID, err)
	}
	if a.Pages == nil || a.TranslatedLanguage == nil {
		return nil, layoutErr("chapter %s attributes lack pages or translatedLanguage", e.ID)
	}
	c := &chapterInfo{
		id:    strings.ToLower(e.ID),
		pages: *a.Pages,
		lang:  *a.TranslatedLanguage,
	}
	if a.Chapter != nil {
		c.number = strings.TrimSpace(*a.Chapter)
	}
	if a.Volume != nil {
		c.volume = strings.TrimSpace(*a.Volume)
	}
	if a.Title != nil {
		c.title = strings.TrimSpace(*a.Title)
	}
	if a.ExternalURL != nil {
		c.external = strings.TrimSpace(*a.ExternalURL)
	}
	for _, r := range e.Relationships {
		switch r.Type {
		case "scanlation_group":
			g := group{id: strings.ToLower(r.ID)}
			var ga struct {
				Name string `json:"name"`
			}
			if len(r.Attributes) > 0 && json.Unmarshal(r.Attributes, &ga) == nil {
				g.name = strings.TrimSpace(ga.Name)
			}
			c.groups = append(c.groups, g)
		case "manga":
			var ma mangaAttrs
			if len(r.Attributes) > 0 && json.Unmarshal(r.Attributes, &ma) == nil {
				c.manga = &ma
			}
		}
	}
	return c, nil
}

// titleOf prefers English, then an English alternative title, then the
// romanised Japanese, then any.
func titleOf(a *mangaAttrs) string {
	if a == nil {
		return ""
	}
	if t := strings.TrimSpace(a.Title["en"]); t != "" {
		return t
	}
	for _, alt := range a.AltTitles {
		if t := strings.TrimSpace(alt["en"]); t != "" {
			return t
		}
	}
	if t := strings.TrimSpace(a.Title["ja-ro"]); t != "" {
		return t
	}
	keys := make([]string, 0, len(a.Title))
	for k := range a.Title {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if t := strings.TrimSpace(a.Title[k]); t != "" {
			return t
		}
	}
	for _, alt := range a.AltTitles {
		keys = keys[:0]
		for k := range alt {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if t := strings.TrimSpace(alt[k]); t != "" {
				return t
			}
		}
	}
	return ""
}

// externalWhere names where chapter c can be read instead.
func (m *handler) externalWhere(c *chapterInfo) string {
	label := "chapter"
	if c.number != "" {
		label = "chapter " + c.number
	}
	if c.external != "" {
		return "read it at " + c.external + " (" + label + ")"
	}
	return label + " has no pages on MangaDex (see " + m.siteLink("chapter", c.id) + ")"
}

func (m *handler) externalErr(c *chapterInfo) error {
	return fmt.Errorf("%w: %s", sites.ErrExternal, m.externalWhere(c))
}

func (m *handler) resolveChapter(ctx context.Context, env sites.Env, id, quality string) (*sites.Chapter, error) {
	var resp entityResponse
	q := url.Values{"includes[]": {"scanlation_group", "manga"}}
	if err := m.get(ctx, env, "/chapter/"+id, q, &resp); err != nil {
		return nil, fmt.Errorf("chapter %s: %w", id, err)
	}
	info, err := parseChapter(resp.Data)
	if err != nil {
		return nil, err
	}
	if !info.downloadable() {
		return nil, m.externalErr(info)
	}
	ch := m.newChapter(env, info, titleOf(info.manga), quality)
	if ch.Pages, err = ch.Refresh(ctx); err != nil {
		return nil, err
	}
	return ch, nil
}

// newChapter builds a sites.Chapter (without pages) whose Refresh asks
// /at-home/server for a page list.
func (m *handler) newChapter(env sites.Env, c *chapterInfo, series, quality string) *sites.Chapter {
	var credits []string
	for _, g := range c.groups {
		if g.name != "" {
			credits = append(credits, g.name)
		}
	}
	credits = append(credits, creditSite)
	ch := &sites.Chapter{
		Site:         "mangadex",
		ID:           c.id,
		Series:       series,
		Number:       c.number,
		Volume:       c.volume,
		Title:        c.title,
		Language:     c.lang,
		Credits:      credits,
		SourceURL:    m.siteLink("chapter", c.id),
		RefreshAfter: refreshAfter,
	}
	id := c.id
	ch.Refresh = func(ctx context.Context) ([]download.Page, error) {
		return m.atHome(ctx, env, id, quality)
	}
	if m.report != nil {
		ch.Report = func(r download.FetchReport) { m.enqueueReport(env, r) }
	}
	return ch
}

// atHome asks for an image node and returns the chapter's pages on it.
func (m *handler) atHome(ctx context.Context, env sites.Env, id, quality string) ([]download.Page, error) {
	var ah atHomeAnswer
	if err := m.get(ctx, env, "/at-home/server/"+id, nil, &ah); err != nil {
		return nil, fmt.Errorf("image server for chapter %s: %w", id, err)
	}
	base, err := url.Parse(ah.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || ah.Chapter == nil || ah.Chapter.Hash == "" {
		return nil, layoutErr("at-home answer for chapter %s lacks baseUrl or chapter.hash", id)
	}
	files := ah.Chapter.Data
	if quality == "data-saver" {
		files = ah.Chapter.DataSaver
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: mangadex lists no %s files for chapter %s", sites.ErrNoPages, quality, id)
	}
	prefix := strings.TrimRight(ah.BaseURL, "/") + "/" + quality + "/" + url.PathEscape(ah.Chapter.Hash) + "/"
	pages := make([]download.Page, len(files))
	for i, f := range files {
		if f == "" {
			return nil, layoutErr("at-home answer for chapter %s has an empty file name", id)
		}
		var h http.Header
		if env.UserAgent != "" {
			h = http.Header{"User-Agent": {env.UserAgent}}
		}
		pages[i] = download.Page{URL: prefix + url.PathEscape(f), Header: h}
	}
	return pages, nil
}

// ---- title links ----

func (m *handler) resolveTitle(ctx context.Context, env sites.Env, req sites.Request, id, quality string) ([]*sites.Chapter, error) {
	sel, err := sites.ParseSelection(req.Chapters)
	if err != nil {
		return nil, err
	}
	langs := m.opts.Languages
	if l := strings.ToLower(strings.TrimSpace(req.Language)); l != "" {
		if !languageCode.MatchString(l) {
			return nil, fmt.Errorf("%q is not a language code (e.g. en, pt-br)", req.Language)
		}
		langs = []string{l}
	}

	var manga entityResponse
	if err := m.get(ctx, env, "/manga/"+id, nil, &manga); err != nil {
		return nil, fmt.Errorf("title %s: %w", id, err)
	}
	if manga.Data == nil || manga.Data.Type != "manga" || len(manga.Data.Attributes) == 0 || string(manga.Data.Attributes) == "null" {
		return nil, layoutErr("manga %s: data or attributes missing", id)
	}
	var ma mangaAttrs
	if err := json.Unmarshal(manga.Data.Attributes, &ma); err != nil || len(ma.Title) == 0 {
		return nil, layoutErr("manga %s: no title", id)
	}
	series := titleOf(&ma)

	infos, total, err := m.feed(ctx, env, id, langs)
	if err != nil {
		return nil, err
	}
	list := m.pickUploads(infos, langs)
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %s has no chapters in %s", sites.ErrNotFound, m.siteLink("title", id), strings.Join(langs, ", "))
	}
	// Apply the selection to every chapter number, external ones included,
	// so "last" means the latest chapter even when it is hosted elsewhere.
	stubs := make([]*sites.Chapter, len(list))
	byStub := make(map[*sites.Chapter]*chapterInfo, len(list))
	for i, c := range list {
		stubs[i] = &sites.Chapter{Number: c.number}
		byStub[stubs[i]] = c
	}
	picked, err := sel.Apply(stubs, 0)
	if err != nil {
		return nil, err
	}
	// Past the API's window the list is cut: a selection that reaches its
	// end ("last", "all", "990-2000") would silently miss chapters.
	if left := total - len(infos); left > 0 && len(picked) > 0 && picked[len(picked)-1] == stubs[len(stubs)-1] {
		edge := list[len(list)-1].number
		return nil, fmt.Errorf("%w: MangaDex counts %d uploads of this title in %s but serves only the first %d: %d uploads from chapter %s on were left out; select chapters below %s", sites.ErrBadSelection, total, strings.Join(langs, ", "), feedMaxWindow, left, edge, edge)
	}
	var dl []*chapterInfo
	var ext []*chapterInfo
	for _, s := range picked {
		if c := byStub[s]; c.downloadable() {
			dl = append(dl, c)
		} else {
			ext = append(ext, c)
		}
	}
	if len(dl) == 0 {
		if len(ext) == 1 {
			return nil, m.externalErr(ext[0])
		}
		return nil, fmt.Errorf("%w: none of the %d selected chapters is on MangaDex; e.g. %s", sites.ErrExternal, len(ext), m.externalWhere(ext[0]))
	}
	if env.MaxChapters > 0 && len(dl) > env.MaxChapters {
		return nil, fmt.Errorf("%w: %q selects %d chapters, more than the limit of %d ([sites] max_chapters): %d would be left out; narrow it, e.g. %s-%s", sites.ErrBadSelection, sel.String(), len(dl), env.MaxChapters, len(dl)-env.MaxChapters, dl[0].number, dl[env.MaxChapters-1].number)
	}
	// No /at-home/server call here: at 40 a minute, 50 chapters would take
	// over a minute of "resolving". The pipeline calls Refresh for each
	// chapter just before its download and counts PageCount meanwhile.
	out := make([]*sites.Chapter, 0, len(dl))
	for _, c := range dl {
		ch := m.newChapter(env, c, series, quality)
		ch.PageCount = c.pages
		out = append(out, ch)
	}
	return out, nil
}

// feed lists every chapter of a manga in the given languages, in reading
// order, following offset until total.
//
// total is the number of uploads the API counts: more than it serves when
// the title has more than the 10,000 its offset window reaches.
func (m *handler) feed(ctx context.Context, env sites.Env, id string, langs []string) (out []*chapterInfo, total int, err error) {
	offset := 0
	for {
		limit := min(m.pageSize, feedMaxWindow-offset)
		if limit <= 0 {
			break // the API serves no further than offset+limit = 10,000
		}
		q := url.Values{
			"translatedLanguage[]": langs,
			"contentRating[]":      m.opts.ContentRatings,
			"includes[]":           {"scanlation_group"},
			"order[volume]":        {"asc"},
			"order[chapter]":       {"asc"},
			"limit":                {strconv.Itoa(limit)},
			"offset":               {strconv.Itoa(offset)},
		}
		var page collection
		if err := m.get(ctx, env, "/manga/"+id+"/feed", q, &page); err != nil {
			return nil, 0, fmt.Errorf("chapter list of %s: %w", id, err)
		}
		if page.Total == nil || page.Data == nil {
			return nil, 0, layoutErr("feed of %s lacks data or total", id)
		}
		total = *page.Total
		for i := range page.Data {
			c, err := parseChapter(&page.Data[i])
			if err != nil {
				return nil, 0, err
			}
			out = append(out, c)
		}
		offset += len(page.Data)
		if len(page.Data) == 0 || offset >= *page.Total {
			break
		}
	}
	return out, max(total, len(out)), nil
}

// pickUploads keeps one upload per chapter, in the feed's order: a
// downloadable one before an external one, then the preferred group, then
// the preferred language, then the first listed.
//
// A chapter is its number within its volume, since some series start
// numbering again with each volume. MangaDex often has the same chapter
// with a volume from one group and without one from another, so an upload
// without a volume joins the uploads of its number when they all lie in
// one volume (or have none). When the number occurs in several volumes, a
// volume-less upload cannot be placed and stays a chapter of its own: in
// such series it is most likely a new chapter not yet collected into a
// volume, and a duplicate costs less than a lost chapter.
func (m *handler) pickUploads(infos []*chapterInfo, langs []string) []*chapterInfo {
	type slot struct {
		best *chapterInfo
		rank [4]int
		pos  int // position of its first upload in the feed
		// volume: the slot holds uploads with a volume; it keeps their
		// place in the feed wherever the uploads without one are listed.
		volume bool
	}
	var slots []*slot
	add := func(s *slot, pos int, c *chapterInfo) *slot {
		rank := [4]int{1, m.groupRank(c), len(langs), pos}
		if c.downloadable() {
			rank[0] = 0
		}
		for i, l := range langs {
			if strings.EqualFold(c.lang, l) {
				rank[2] = i
				break
			}
		}
		if s == nil {
			s = &slot{best: c, rank: rank, pos: pos}
			slots = append(slots, s)
			return s
		}
		if !s.volume {
			s.pos = min(s.pos, pos)
		}
		if rankLess(rank, s.rank) {
			s.best, s.rank = c, rank
		}
		return s
	}

	// Uploads with a volume first: one slot per (number, volume).
	byVolume := map[[2]string]*slot{}
	volumes := map[string][]*slot{} // number -> its slots with a volume
	for pos, c := range infos {
		num, vol := numberKey(c.number), numberKey(c.volume)
		switch {
		case num == "":
			add(nil, pos, c) // no number: never merged
		case vol != "":
			k := [2]string{num, vol}
			if byVolume[k] == nil {
				byVolume[k] = add(nil, pos, c)
				byVolume[k].volume = true
				volumes[num] = append(volumes[num], byVolume[k])
			} else {
				add(byVolume[k], pos, c)
			}
		}
	}
	// Then those without: into the one volume of their number, else
	// together with the other volume-less uploads of that number.
	noVolume := map[string]*slot{}
	for pos, c := range infos {
		num, vol := numberKey(c.number), numberKey(c.volume)
		if num == "" || vol != "" {
			continue
		}
		if vs := volumes[num]; len(vs) == 1 {
			add(vs[0], pos, c)
		} else {
			noVolume[num] = add(noVolume[num], pos, c)
		}
	}

	sort.SliceStable(slots, func(i, j int) bool { return slots[i].pos < slots[j].pos })
	out := make([]*chapterInfo, len(slots))
	for i, s := range slots {
		out[i] = s.best
	}
	return out
}

// numberKey normalises a chapter or volume number for comparison ("01"
// and "1" are the same); other text is kept as it is.
func numberKey(s string) string {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

func rankLess(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// groupRank is the index of the first preferred group among c's groups, or
// len(preferred_groups) when none is.
func (m *handler) groupRank(c *chapterInfo) int {
	for i, p := range m.opts.PreferredGroups {
		for _, g := range c.groups {
			if strings.EqualFold(p, g.id) || (g.name != "" && strings.EqualFold(p, g.name)) {
				return i
			}
		}
	}
	return len(m.opts.PreferredGroups)
}

// ---- search ----

func (m *handler) Search(ctx context.Context, env sites.Env, query string) ([]sites.SearchResult, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	q := url.Values{
		"title": {query},
		"limit": {"10"},
		// Best match first; without it the API sorts by latest upload.
		"order[relevance]": {"desc"},
		"contentRating[]":  m.opts.ContentRatings,
	}
	var res collection
	if err := m.get(ctx, env, "/manga", q, &res); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if res.Data == nil {
		return nil, layoutErr("search answer lacks data")
	}
	out := make([]sites.SearchResult, 0, len(res.Data))
	for _, e := range res.Data {
		if !uuidOnly.MatchString(e.ID) || len(e.Attributes) == 0 {
			return nil, layoutErr("search result without id or attributes")
		}
		var a mangaAttrs
		if err := json.Unmarshal(e.Attributes, &a); err != nil {
			return nil, layoutErr("search result %s: %v", e.ID, err)
		}
		t := titleOf(&a)
		if t == "" {
			t = e.ID
		}
		out = append(out, sites.SearchResult{Title: t, URL: m.siteLink("title", strings.ToLower(e.ID))})
	}
	return out, nil
}

// ---- MangaDex@Home reports ----

// officialHost: images served by MangaDex itself (uploads.mangadex.org)
// are not reported; only @Home nodes are.
func officialHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "mangadex.org" || strings.HasSuffix(host, ".mangadex.org")
}

// enqueueReport queues a report without blocking: when the queue is full
// the report is dropped, so a slow report endpoint never slows downloads.
func (m *handler) enqueueReport(env sites.Env, r download.FetchReport) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || officialHost(u.Hostname()) {
		return
	}
	body, err := json.Marshal(struct {
		URL      string `json:"url"`
		Success  bool   `json:"success"`
		Cached   bool   `json:"cached"`
		Bytes    int64  `json:"bytes"`
		Duration int64  `json:"duration"`
	}{r.URL, r.Success, r.Cached, r.Bytes, r.Duration.Milliseconds()})
	if err != nil {
		return
	}
	client := env.Client
	if client == nil {
		return // no guarded client: no report (never http.DefaultClient)
	}
	m.addPending(1)
	select {
	case m.reports <- queuedReport{client: client, ua: env.UserAgent, body: body}:
	default:
		m.addPending(-1)
		return // full: drop
	}
	if m.reporting.CompareAndSwap(false, true) {
		go m.sendReports()
	}
}

// sendReports is the handler's one report worker; it exits when the queue
// is empty and enqueueReport starts it again.
func (m *handler) sendReports() {
	for {
		for drained := false; !drained; {
			select {
			case r := <-m.reports:
				m.postReport(r)
				m.addPending(-1)
			default:
				drained = true
			}
		}
		m.reporting.Store(false)
		// A report queued between the drain and the Store saw a running
		// worker and started none: take it.
		if len(m.reports) == 0 || !m.reporting.CompareAndSwap(false, true) {
			return
		}
	}
}

func (m *handler) addPending(d int) {
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	if m.pending == 0 && d > 0 {
		m.idle = make(chan struct{})
	}
	m.pending += d
	if m.pending == 0 {
		close(m.idle)
	}
}

// Drain waits until every queued MangaDex@Home report has been sent (or
// failed), or ctx ends; it returns how many were still unsent then. The
// CLI calls it before exiting and the bot at shutdown, with a bound of a
// few seconds: reports must not be lost to an exit, nor hold the user.
func (m *handler) Drain(ctx context.Context) (unsent int) {
	for {
		m.pendMu.Lock()
		n, idle := m.pending, m.idle
		m.pendMu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-idle:
		case <-ctx.Done():
			m.pendMu.Lock()
			defer m.pendMu.Unlock()
			return m.pending
		}
	}
}

func (m *handler) postReport(r queuedReport) {
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	env := sites.Env{Client: r.client, UserAgent: r.ua}
	// Reports are best effort: an error is dropped.
	sites.Do(ctx, env, sites.Req{URL: m.report, JSON: json.RawMessage(r.body), MaxBytes: 64 << 10})
}
