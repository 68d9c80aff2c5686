package sites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MangaDexOptions are the [sites.mangadex] options.
type MangaDexOptions struct {
	Quality         string   `toml:"quality" help:"Image quality: \"data\" (original files) or \"data-saver\" (compressed). A request's quality overrides it."`
	APIURL          string   `toml:"api_url" help:"Base URL of the MangaDex API."`
	ReportURL       string   `toml:"report_url" help:"MangaDex@Home report endpoint: every image fetched from an @Home node is reported there, as MangaDex asks; empty: no reports."`
	Languages       []string `toml:"languages" help:"Translations to list for title links, in order of preference (e.g. \"en\", \"pt-br\"). A request's language overrides it."`
	ContentRatings  []string `toml:"content_ratings" help:"Content ratings allowed in title feeds and search: safe, suggestive, erotica, pornographic."`
	PreferredGroups []string `toml:"preferred_groups" help:"Scanlation groups (names or UUIDs) preferred when a chapter was uploaded several times; first listed wins."`
	SiteURL         string   `toml:"site_url" help:"MangaDex web site: links on this host (and www.) are taken, and chapter and title links point to it."`
}

// mangaDexDefaults returns the defaults of MangaDexOptions.
func mangaDexDefaults() *MangaDexOptions {
	return &MangaDexOptions{
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
	Register(Info{
		Name:        "mangadex",
		Description: "MangaDex chapters and titles (API v5, MangaDex@Home images)",
		Patterns: []string{
			"https://mangadex.org/chapter/<uuid>",
			"https://mangadex.org/title/<uuid>[/slug]",
		},
		Options: func() any { return mangaDexDefaults() },
		New:     newMangaDex,
	})
}

const (
	mdFeedPageSize  = 500    // largest limit the feed accepts
	mdFeedMaxWindow = 10_000 // offset+limit may not exceed this
	mdRefreshAfter  = 5 * time.Minute
	mdReportQueue   = 256 // reports waiting to be sent; more are dropped
	mdMaxBody       = 32 << 20
	mdReportTimeout = 15 * time.Second
	mdCreditSite    = "MangaDex"
)

var (
	mdUUID        = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	mdChapterPath = regexp.MustCompile(`^/chapter/(` + mdUUID + `)(?:/[^/]*)?/?$`)
	mdTitlePath   = regexp.MustCompile(`^/title/(` + mdUUID + `)(?:/[^/]*)?/?$`)
	mdUUIDOnly    = regexp.MustCompile(`^` + mdUUID + `$`)
	mdLanguage    = regexp.MustCompile(`^[a-z]{2,3}(?:-[a-z]{2,4})?$`)
)

var mdRatings = []string{"safe", "suggestive", "erotica", "pornographic"}

type mangaDex struct {
	opts     MangaDexOptions
	api      *url.URL
	site     *url.URL
	report   *url.URL // nil: no reports
	pageSize int      // feed page size (limit)

	reports   chan mdReport
	reporting atomic.Bool // a report worker is running
}

// mdReport is one queued MangaDex@Home report.
type mdReport struct {
	client *http.Client
	ua     string
	body   []byte
}

func newMangaDex(o any) (Handler, error) {
	var opts MangaDexOptions
	switch v := o.(type) {
	case nil:
		opts = *mangaDexDefaults()
	case *MangaDexOptions:
		if v == nil {
			opts = *mangaDexDefaults()
		} else {
			opts = *v
		}
	case MangaDexOptions:
		opts = v
	default:
		return nil, fmt.Errorf("mangadex: options of type %T, want *sites.MangaDexOptions", o)
	}
	m := &mangaDex{pageSize: mdFeedPageSize, reports: make(chan mdReport, mdReportQueue)}

	opts.Quality = strings.ToLower(strings.TrimSpace(opts.Quality))
	switch opts.Quality {
	case "data", "data-saver":
	case "original":
		opts.Quality = "data"
	default:
		return nil, fmt.Errorf("quality: %q is not one of \"data\", \"data-saver\"", opts.Quality)
	}
	var err error
	if m.api, err = mdBaseURL("api_url", opts.APIURL); err != nil {
		return nil, err
	}
	if m.site, err = mdBaseURL("site_url", opts.SiteURL); err != nil {
		return nil, err
	}
	if strings.TrimSpace(opts.ReportURL) != "" {
		if m.report, err = mdBaseURL("report_url", opts.ReportURL); err != nil {
			return nil, err
		}
	}
	if len(opts.Languages) == 0 {
		return nil, errors.New("languages: give at least one language code, e.g. [\"en\"]")
	}
	langs := make([]string, len(opts.Languages))
	for i, l := range opts.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if !mdLanguage.MatchString(l) {
			return nil, fmt.Errorf("languages: %q is not a language code (e.g. \"en\", \"pt-br\")", opts.Languages[i])
		}
		langs[i] = l
	}
	opts.Languages = langs
	if len(opts.ContentRatings) == 0 {
		return nil, fmt.Errorf("content_ratings: give at least one of %s", strings.Join(mdRatings, ", "))
	}
	ratings := make([]string, len(opts.ContentRatings))
	for i, r := range opts.ContentRatings {
		r = strings.ToLower(strings.TrimSpace(r))
		ok := false
		for _, known := range mdRatings {
			ok = ok || r == known
		}
		if !ok {
			return nil, fmt.Errorf("content_ratings: %q is not one of %s", opts.ContentRatings[i], strings.Join(mdRatings, ", "))
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

func mdBaseURL(key, raw string) (*url.URL, error) {
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
func (m *mangaDex) Limits() []HostLimit {
	out := []HostLimit{
		{Host: m.api.Hostname(), Rate: 5, Burst: 5},
		{Host: m.api.Hostname(), Path: m.api.Path + "/at-home/server", Rate: 40.0 / 60, Burst: 3},
	}
	if m.report != nil && !strings.EqualFold(m.report.Hostname(), m.api.Hostname()) {
		out = append(out, HostLimit{Host: m.report.Hostname(), Rate: 10, Burst: 10})
	}
	return out
}

func (m *mangaDex) hostOK(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	h := strings.ToLower(u.Host)
	site := strings.ToLower(m.site.Host)
	return h == site || h == "www."+site
}

// parseLink returns "chapter" or "title" and the lower-case uuid.
func (m *mangaDex) parseLink(u *url.URL) (kind, id string) {
	if !m.hostOK(u) {
		return "", ""
	}
	if s := mdChapterPath.FindStringSubmatch(u.Path); s != nil {
		return "chapter", strings.ToLower(s[1])
	}
	if s := mdTitlePath.FindStringSubmatch(u.Path); s != nil {
		return "title", strings.ToLower(s[1])
	}
	return "", ""
}

// Match takes every link on MangaDex's site, so a group or list link gets
// MangaDex's own clear error rather than the generic gallery's guesswork on
// a JavaScript app.
func (m *mangaDex) Match(u *url.URL) bool { return m.hostOK(u) }

func (m *mangaDex) quality(req string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(req)) {
	case "":
		return m.opts.Quality, nil
	case "original", "data":
		return "data", nil
	case "data-saver", "datasaver", "data_saver":
		return "data-saver", nil
	}
	return "", fmt.Errorf("mangadex: unknown quality %q (use original or data-saver)", req)
}

func (m *mangaDex) siteLink(kind, id string) string {
	return m.site.String() + "/" + kind + "/" + id
}

func (m *mangaDex) Resolve(ctx context.Context, env Env, req Request) ([]*Chapter, error) {
	kind, id := m.parseLink(req.URL)
	if kind == "" {
		return nil, fmt.Errorf("%w: not a MangaDex chapter or title link: %v (use %s/chapter/<uuid> or %s/title/<uuid>)", ErrUnsupported, req.URL.Redacted(), m.site, m.site)
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
		return []*Chapter{ch}, nil
	}
	return m.resolveTitle(ctx, env, req, id, q)
}

// ---- API JSON ----

type mdErrorBody struct {
	Result string `json:"result"`
	Errors []struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

type mdEntity struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Attributes    json.RawMessage `json:"attributes"`
	Relationships []mdRel         `json:"relationships"`
}

type mdRel struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Attributes json.RawMessage `json:"attributes"`
}

type mdEntityResponse struct {
	Data *mdEntity `json:"data"`
}

type mdCollection struct {
	Data   []mdEntity `json:"data"`
	Limit  *int       `json:"limit"`
	Offset *int       `json:"offset"`
	Total  *int       `json:"total"`
}

type mdChapterAttrs struct {
	Title              *string `json:"title"`
	Volume             *string `json:"volume"`
	Chapter            *string `json:"chapter"`
	Pages              *int    `json:"pages"`
	TranslatedLanguage *string `json:"translatedLanguage"`
	ExternalURL        *string `json:"externalUrl"`
}

type mdMangaAttrs struct {
	Title     map[string]string   `json:"title"`
	AltTitles []map[string]string `json:"altTitles"`
}

type mdAtHome struct {
	BaseURL string `json:"baseUrl"`
	Chapter *struct {
		Hash      string   `json:"hash"`
		Data      []string `json:"data"`
		DataSaver []string `json:"dataSaver"`
	} `json:"chapter"`
}

func mdLayoutErr(format string, a ...any) error {
	return fmt.Errorf("%w: mangadex: "+format, append([]any{ErrLayout}, a...)...)
}

// get asks the API for path?query and decodes the answer into v.
func (m *mangaDex) get(ctx context.Context, env Env, path string, query url.Values, v any) error {
	client := env.Client
	if client == nil {
		// Never fall back to http.DefaultClient: it lacks the address
		// guard and the rate limits, and honours HTTP_PROXY.
		return errors.New("mangadex: no HTTP client in Env")
	}
	u := *m.api
	u.Path = m.api.Path + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("mangadex: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, mdMaxBody+1))
	if err != nil {
		return fmt.Errorf("mangadex: reading %s: %w", path, err)
	}
	if len(body) > mdMaxBody {
		return fmt.Errorf("mangadex: answer to %s is larger than %d bytes", path, mdMaxBody)
	}

	var eb mdErrorBody
	jsonErr := json.Unmarshal(body, &eb)
	if resp.StatusCode/100 != 2 || (jsonErr == nil && eb.Result == "error") {
		msg := ""
		if jsonErr == nil && len(eb.Errors) > 0 {
			e := eb.Errors[0]
			msg = e.Detail
			if msg == "" {
				msg = e.Title
			}
		}
		if msg == "" {
			msg = resp.Status
			if msg == "" {
				msg = "HTTP " + strconv.Itoa(resp.StatusCode)
			}
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: mangadex: %s", ErrNotFound, msg)
		}
		return fmt.Errorf("mangadex: %s (HTTP %d)", msg, resp.StatusCode)
	}
	if jsonErr != nil {
		return mdLayoutErr("%s did not answer JSON", path)
	}
	if eb.Result != "ok" {
		return mdLayoutErr("%s answered result %q", path, eb.Result)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return mdLayoutErr("%s: %v", path, err)
	}
	return nil
}

// mdChapter is a parsed chapter entity.
type mdChapter struct {
	id       string
	number   string
	volume   string
	title    string
	lang     string
	pages    int
	external string
	groups   []mdGroup
	manga    *mdMangaAttrs
}

type mdGroup struct{ id, name string }

func (c *mdChapter) downloadable() bool { return c.external == "" && c.pages > 0 }

func mdParseChapter(e *mdEntity) (*mdChapter, error) {
	if e == nil {
		return nil, mdLayoutErr("chapter data missing")
	}
	if !mdUUIDOnly.MatchString(e.ID) || e.Type != "chapter" {
		return nil, mdLayoutErr("expected a chapter, got type %q id %q", e.Type, e.ID)
	}
	if len(e.Attributes) == 0 || string(e.Attributes) == "null" {
		return nil, mdLayoutErr("chapter %s has no attributes", e.ID)
	}
	var a mdChapterAttrs
	if err := json.Unmarshal(e.Attributes, &a); err != nil {
		return nil, mdLayoutErr("chapter %s attributes: %v", e.ID, err)
	}
	if a.Pages == nil || a.TranslatedLanguage == nil {
		return nil, mdLayoutErr("chapter %s attributes lack pages or translatedLanguage", e.ID)
	}
	c := &mdChapter{
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
			g := mdGroup{id: strings.ToLower(r.ID)}
			var ga struct {
				Name string `json:"name"`
			}
			if len(r.Attributes) > 0 && json.Unmarshal(r.Attributes, &ga) == nil {
				g.name = strings.TrimSpace(ga.Name)
			}
			c.groups = append(c.groups, g)
		case "manga":
			var ma mdMangaAttrs
			if len(r.Attributes) > 0 && json.Unmarshal(r.Attributes, &ma) == nil {
				c.manga = &ma
			}
		}
	}
	return c, nil
}

// mdTitle prefers English, then an English alternative title, then the
// romanised Japanese, then any.
func mdTitle(a *mdMangaAttrs) string {
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
func (m *mangaDex) externalWhere(c *mdChapter) string {
	label := "chapter"
	if c.number != "" {
		label = "chapter " + c.number
	}
	if c.external != "" {
		return "read it at " + c.external + " (" + label + ")"
	}
	return label + " has no pages on MangaDex (see " + m.siteLink("chapter", c.id) + ")"
}

func (m *mangaDex) externalErr(c *mdChapter) error {
	return fmt.Errorf("%w: %s", ErrExternal, m.externalWhere(c))
}

func (m *mangaDex) resolveChapter(ctx context.Context, env Env, id, quality string) (*Chapter, error) {
	var resp mdEntityResponse
	q := url.Values{"includes[]": {"scanlation_group", "manga"}}
	if err := m.get(ctx, env, "/chapter/"+id, q, &resp); err != nil {
		return nil, err
	}
	info, err := mdParseChapter(resp.Data)
	if err != nil {
		return nil, err
	}
	if !info.downloadable() {
		return nil, m.externalErr(info)
	}
	ch := m.newChapter(env, info, mdTitle(info.manga), quality)
	if ch.Pages, err = ch.Refresh(ctx); err != nil {
		return nil, err
	}
	return ch, nil
}

// newChapter builds a Chapter (without pages) whose Refresh asks
// /at-home/server for a page list.
func (m *mangaDex) newChapter(env Env, c *mdChapter, series, quality string) *Chapter {
	var credits []string
	for _, g := range c.groups {
		if g.name != "" {
			credits = append(credits, g.name)
		}
	}
	credits = append(credits, mdCreditSite)
	ch := &Chapter{
		Site:         "mangadex",
		ID:           c.id,
		Series:       series,
		Number:       c.number,
		Volume:       c.volume,
		Title:        c.title,
		Language:     c.lang,
		Credits:      credits,
		SourceURL:    m.siteLink("chapter", c.id),
		RefreshAfter: mdRefreshAfter,
	}
	id := c.id
	ch.Refresh = func(ctx context.Context) ([]Page, error) {
		return m.atHome(ctx, env, id, quality)
	}
	if m.report != nil {
		ch.Report = func(r FetchReport) { m.enqueueReport(env, r) }
	}
	return ch
}

// atHome asks for an image node and returns the chapter's pages on it.
func (m *mangaDex) atHome(ctx context.Context, env Env, id, quality string) ([]Page, error) {
	var ah mdAtHome
	if err := m.get(ctx, env, "/at-home/server/"+id, nil, &ah); err != nil {
		return nil, err
	}
	base, err := url.Parse(ah.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || ah.Chapter == nil || ah.Chapter.Hash == "" {
		return nil, mdLayoutErr("at-home answer for chapter %s lacks baseUrl or chapter.hash", id)
	}
	files := ah.Chapter.Data
	if quality == "data-saver" {
		files = ah.Chapter.DataSaver
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: mangadex lists no %s files for chapter %s", ErrNoPages, quality, id)
	}
	prefix := strings.TrimRight(ah.BaseURL, "/") + "/" + quality + "/" + url.PathEscape(ah.Chapter.Hash) + "/"
	pages := make([]Page, len(files))
	for i, f := range files {
		if f == "" {
			return nil, mdLayoutErr("at-home answer for chapter %s has an empty file name", id)
		}
		var h http.Header
		if env.UserAgent != "" {
			h = http.Header{"User-Agent": {env.UserAgent}}
		}
		pages[i] = Page{URL: prefix + url.PathEscape(f), Header: h}
	}
	return pages, nil
}

// ---- title links ----

func (m *mangaDex) resolveTitle(ctx context.Context, env Env, req Request, id, quality string) ([]*Chapter, error) {
	sel, err := ParseSelection(req.Chapters)
	if err != nil {
		return nil, err
	}
	langs := m.opts.Languages
	if l := strings.ToLower(strings.TrimSpace(req.Language)); l != "" {
		if !mdLanguage.MatchString(l) {
			return nil, fmt.Errorf("mangadex: %q is not a language code (e.g. en, pt-br)", req.Language)
		}
		langs = []string{l}
	}

	var manga mdEntityResponse
	if err := m.get(ctx, env, "/manga/"+id, nil, &manga); err != nil {
		return nil, err
	}
	if manga.Data == nil || manga.Data.Type != "manga" || len(manga.Data.Attributes) == 0 || string(manga.Data.Attributes) == "null" {
		return nil, mdLayoutErr("manga %s: data or attributes missing", id)
	}
	var ma mdMangaAttrs
	if err := json.Unmarshal(manga.Data.Attributes, &ma); err != nil || len(ma.Title) == 0 {
		return nil, mdLayoutErr("manga %s: no title", id)
	}
	series := mdTitle(&ma)

	infos, err := m.feed(ctx, env, id, langs)
	if err != nil {
		return nil, err
	}
	list := m.pickUploads(infos, langs)
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %s has no chapters in %s", ErrNotFound, m.siteLink("title", id), strings.Join(langs, ", "))
	}
	// Apply the selection to every chapter number, external ones included,
	// so "last" means the latest chapter even when it is hosted elsewhere.
	stubs := make([]*Chapter, len(list))
	byStub := make(map[*Chapter]*mdChapter, len(list))
	for i, c := range list {
		stubs[i] = &Chapter{Number: c.number}
		byStub[stubs[i]] = c
	}
	picked, err := sel.Apply(stubs, 0)
	if err != nil {
		return nil, err
	}
	var dl []*mdChapter
	var ext []*mdChapter
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
		return nil, fmt.Errorf("%w: none of the %d selected chapters is on MangaDex; e.g. %s", ErrExternal, len(ext), m.externalWhere(ext[0]))
	}
	if env.MaxChapters > 0 && len(dl) > env.MaxChapters {
		return nil, fmt.Errorf("%w: %q selects %d chapters, more than the limit of %d; narrow it", ErrBadSelection, sel.String(), len(dl), env.MaxChapters)
	}
	// No /at-home/server call here: at 40 a minute, 50 chapters would take
	// over a minute of "resolving". The pipeline calls Refresh for each
	// chapter just before its download and counts PageCount meanwhile.
	out := make([]*Chapter, 0, len(dl))
	for _, c := range dl {
		ch := m.newChapter(env, c, series, quality)
		ch.PageCount = c.pages
		out = append(out, ch)
	}
	return out, nil
}

// feed lists every chapter of a manga in the given languages, in reading
// order, following offset until total.
func (m *mangaDex) feed(ctx context.Context, env Env, id string, langs []string) ([]*mdChapter, error) {
	var out []*mdChapter
	offset := 0
	for {
		limit := min(m.pageSize, mdFeedMaxWindow-offset)
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
		var page mdCollection
		if err := m.get(ctx, env, "/manga/"+id+"/feed", q, &page); err != nil {
			return nil, err
		}
		if page.Total == nil || page.Data == nil {
			return nil, mdLayoutErr("feed of %s lacks data or total", id)
		}
		for i := range page.Data {
			c, err := mdParseChapter(&page.Data[i])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		offset += len(page.Data)
		if len(page.Data) == 0 || offset >= *page.Total {
			break
		}
	}
	return out, nil
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
func (m *mangaDex) pickUploads(infos []*mdChapter, langs []string) []*mdChapter {
	type slot struct {
		best *mdChapter
		rank [4]int
		pos  int // position of its first upload in the feed
		// volume: the slot holds uploads with a volume; it keeps their
		// place in the feed wherever the uploads without one are listed.
		volume bool
	}
	var slots []*slot
	add := func(s *slot, pos int, c *mdChapter) *slot {
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
		if mdRankLess(rank, s.rank) {
			s.best, s.rank = c, rank
		}
		return s
	}

	// Uploads with a volume first: one slot per (number, volume).
	byVolume := map[[2]string]*slot{}
	volumes := map[string][]*slot{} // number -> its slots with a volume
	for pos, c := range infos {
		num, vol := mdNumberKey(c.number), mdNumberKey(c.volume)
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
		num, vol := mdNumberKey(c.number), mdNumberKey(c.volume)
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
	out := make([]*mdChapter, len(slots))
	for i, s := range slots {
		out[i] = s.best
	}
	return out
}

// mdNumberKey normalises a chapter or volume number for comparison ("01"
// and "1" are the same); other text is kept as it is.
func mdNumberKey(s string) string {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

func mdRankLess(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// groupRank is the index of the first preferred group among c's groups, or
// len(preferred_groups) when none is.
func (m *mangaDex) groupRank(c *mdChapter) int {
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

func (m *mangaDex) Search(ctx context.Context, env Env, query string) ([]SearchResult, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	q := url.Values{
		"title":           {query},
		"limit":           {"10"},
		"contentRating[]": m.opts.ContentRatings,
	}
	var res mdCollection
	if err := m.get(ctx, env, "/manga", q, &res); err != nil {
		return nil, err
	}
	if res.Data == nil {
		return nil, mdLayoutErr("search answer lacks data")
	}
	out := make([]SearchResult, 0, len(res.Data))
	for _, e := range res.Data {
		if !mdUUIDOnly.MatchString(e.ID) || len(e.Attributes) == 0 {
			return nil, mdLayoutErr("search result without id or attributes")
		}
		var a mdMangaAttrs
		if err := json.Unmarshal(e.Attributes, &a); err != nil {
			return nil, mdLayoutErr("search result %s: %v", e.ID, err)
		}
		t := mdTitle(&a)
		if t == "" {
			t = e.ID
		}
		out = append(out, SearchResult{Title: t, URL: m.siteLink("title", strings.ToLower(e.ID))})
	}
	return out, nil
}

// ---- MangaDex@Home reports ----

// mdOfficialHost: images served by MangaDex itself (uploads.mangadex.org)
// are not reported; only @Home nodes are.
func mdOfficialHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "mangadex.org" || strings.HasSuffix(host, ".mangadex.org")
}

// enqueueReport queues a report without blocking: when the queue is full
// the report is dropped, so a slow report endpoint never slows downloads.
func (m *mangaDex) enqueueReport(env Env, r FetchReport) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || mdOfficialHost(u.Hostname()) {
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
	select {
	case m.reports <- mdReport{client: client, ua: env.UserAgent, body: body}:
	default:
		return // full: drop
	}
	if m.reporting.CompareAndSwap(false, true) {
		go m.sendReports()
	}
}

// sendReports is the handler's one report worker; it exits when the queue
// is empty and enqueueReport starts it again.
func (m *mangaDex) sendReports() {
	for {
		for drained := false; !drained; {
			select {
			case r := <-m.reports:
				m.postReport(r)
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

func (m *mangaDex) postReport(r mdReport) {
	ctx, cancel := context.WithTimeout(context.Background(), mdReportTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.report.String(), bytes.NewReader(r.body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if r.ua != "" {
		req.Header.Set("User-Agent", r.ua)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return // reports are best effort
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
