package mangadex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

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
