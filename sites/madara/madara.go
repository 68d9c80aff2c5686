package madara

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
)

// Name is the engine's site name ([sites.madara], `bot sites`).
const Name = "madara"

// Engine is Madara as the engine registry knows it.
var Engine = engine.Engine{
	Name:        Name,
	Label:       "Madara",
	Description: "Engine: Madara (WordPress theme + madara-core), on any host whose pages show it: chapters (list and paged readers) and series with their chapter list (inline or AJAX).",
	Patterns:    []string{"https://<madara site>/manga/<series>/", "https://<madara site>/manga/<series>/<chapter>/"},
	Detect:      Detect,
	IsChapter:   IsChapter,
	IsSeries:    IsSeries,
	Pages:       chapterPages,
	Chapter:     ReadChapter,
	Series:      series,
	SeriesLink: func(doc *goquery.Document) string {
		return doc.Find(".c-breadcrumb ol.breadcrumb li.active, ol.breadcrumb li.active").Last().Prev().Find("a[href]").Last().AttrOr("href", "")
	},
}

func init() { engine.Register(Engine) }

// series reads a series page, loading its chapter list by AJAX when the
// page holds only the placeholder.
func series(ctx context.Context, env sites.Env, doc *goquery.Document) (string, []engine.Link, error) {
	s := ReadSeries(doc, doc.Url)
	if len(s.Links) > 0 {
		return s.Title, s.Links, nil
	}
	links, err := ajaxChapters(ctx, env, doc, s.HolderID)
	return s.Title, links, err
}

// chapterPages reads the images of a chapter page, loading the list style
// (?style=list) when the page is the paged reader without the full list;
// the page they were read from is their Referer.
func chapterPages(ctx context.Context, env sites.Env, doc *goquery.Document) ([]download.Page, error) {
	u := doc.Url
	urls, paged, err := Images(doc, u)
	if errors.Is(err, ErrProtected) {
		return nil, fmt.Errorf("%w: %s: %v", sites.ErrNoPages, u, err)
	}
	if paged && u.Query().Get("style") != "list" {
		lu := *u
		q := lu.Query()
		q.Set("style", "list")
		lu.RawQuery = q.Encode()
		ld, err := engine.Fetch(ctx, env, &lu, u.String())
		if err != nil {
			return nil, fmt.Errorf("list view: %w", err)
		}
		if lurls, _, err := Images(ld, ld.Url); err == nil && len(lurls) > len(urls) {
			urls, u = lurls, ld.Url
		}
	}
	return engine.PagesOf(urls, u)
}

// ajaxChapters loads the chapter list of a series page that holds only the
// placeholder: POST <series>/ajax/chapters/ (Madara core 1.7 and later),
// else POST admin-ajax.php action=manga_get_chapters&manga=<id> (older;
// newer versions answer 400 or "0").
func ajaxChapters(ctx context.Context, env sites.Env, doc *goquery.Document, id string) ([]engine.Link, error) {
	series := *doc.Url
	series.RawQuery = ""
	if !strings.HasSuffix(series.Path, "/") {
		series.Path += "/"
	}
	hdr := http.Header{"X-Requested-With": {"XMLHttpRequest"}}
	newer := series.ResolveReference(&url.URL{Path: "ajax/chapters/"})
	links, newErr := postChapters(ctx, env, sites.Req{URL: newer, Form: url.Values{}, Referer: series.String(), Header: hdr}, &series)
	if len(links) > 0 {
		return links, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if id == "" {
		return nil, fmt.Errorf("%w: chapter list: %s answered %v, and the page has no manga id for admin-ajax.php", sites.ErrLayout, newer, describe(newErr))
	}
	older := adminAjax(doc)
	links, oldErr := postChapters(ctx, env, sites.Req{URL: older, Form: url.Values{"action": {"manga_get_chapters"}, "manga": {id}}, Referer: series.String(), Header: hdr}, &series)
	if len(links) > 0 {
		return links, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: chapter list: %s answered %v; %s answered %v", sites.ErrLayout, newer, describe(newErr), older, describe(oldErr))
}

func postChapters(ctx context.Context, env sites.Env, r sites.Req, series *url.URL) ([]engine.Link, error) {
	doc, err := sites.DoHTML(ctx, env, r)
	if err != nil {
		return nil, err
	}
	return Chapters(doc, series), nil
}

func describe(err error) string {
	if err == nil {
		return "no chapters"
	}
	return err.Error()
}

// adminAjax is the site's admin-ajax.php: the ajax_url of the theme's
// `var manga = {...}` script (sites in a subdirectory), else
// /wp-admin/admin-ajax.php on the page's host.
func adminAjax(doc *goquery.Document) *url.URL {
	if raw, ok := engine.ScriptJSON(doc, "var manga ="); ok {
		var v struct {
			AjaxURL string `json:"ajax_url"`
		}
		if json.Unmarshal([]byte(raw), &v) == nil {
			if u, err := doc.Url.Parse(v.AjaxURL); err == nil && v.AjaxURL != "" && u.Host == doc.Url.Host {
				return u
			}
		}
	}
	return doc.Url.ResolveReference(&url.URL{Path: "/wp-admin/admin-ajax.php"})
}
