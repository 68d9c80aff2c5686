package mangadex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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
		return nil, sites.Unsupported("not a MangaDex chapter or title link: %v (use %s/chapter/<uuid> or %s/title/<uuid>)", req.URL.Redacted(), m.site, m.site)
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
