package mangathemesia

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
)

// ErrNovel: the chapter is text (the theme also serves light novels).
var ErrNovel = errors.New("the chapter is a novel chapter (text), not images")

const readerCall = "ts_reader.run("

// Detect reports whether doc is a page of a MangaThemesia site: the theme's
// assets, its reader script, or its chapter list.
func Detect(doc *goquery.Document) bool {
	if doc.Find(`link[href*="/wp-content/themes/mangareader"], script[src*="/wp-content/themes/mangareader"], img[src*="/wp-content/themes/mangareader/"]`).Length() > 0 {
		return true
	}
	if doc.Find("#chapterlist li[data-num], .eplister li[data-num]").Length() > 0 {
		return true
	}
	_, ok := engine.ScriptJSON(doc, readerCall)
	return ok
}

// IsChapter: the page is a chapter reader.
func IsChapter(doc *goquery.Document) bool {
	if doc.Find("#readerarea").Length() > 0 {
		return true
	}
	_, ok := engine.ScriptJSON(doc, readerCall)
	return ok
}

// IsSeries: the page is a series page with its chapter list.
func IsSeries(doc *goquery.Document) bool {
	return doc.Find("#chapterlist, .eplister, div.bxcl").Length() > 0
}

// reader is the argument of ts_reader.run.
type reader struct {
	Sources []struct {
		Source string   `json:"source"`
		Images []string `json:"images"`
	} `json:"sources"`
	DefaultSource string `json:"defaultSource"`
	IsNovel       bool   `json:"is_novel"`
}

// Images returns the chapter's image URLs in reading order: the
// ts_reader.run payload's default source (else its first source with
// images), else the images in #readerarea. <noscript> copies in #readerarea
// are not read: on real pages they can hold another chapter's images.
func Images(doc *goquery.Document, base *url.URL) ([]string, error) {
	if raw, ok := engine.ScriptJSON(doc, readerCall); ok {
		var r reader
		if err := json.Unmarshal([]byte(raw), &r); err == nil {
			if r.IsNovel {
				return nil, ErrNovel
			}
			var chosen []string
			for _, s := range r.Sources {
				if len(s.Images) > 0 && (chosen == nil || s.Source == r.DefaultSource) {
					chosen = s.Images
					if s.Source == r.DefaultSource {
						break
					}
				}
			}
			if urls := engine.AbsoluteAll(base, chosen); len(urls) > 0 {
				return urls, nil
			}
		}
	}
	var raws []string
	doc.Find("#readerarea img").Each(func(_ int, s *goquery.Selection) {
		raws = append(raws, engine.ImageURL(s))
	})
	return engine.AbsoluteAll(base, raws), nil
}

// ReadChapter reads the series from "All chapters are in <a>" (.allc) or
// the breadcrumb, and the chapter from h1.entry-title ("<series> Chapter
// 124").
func ReadChapter(doc *goquery.Document) engine.Info {
	var ci engine.Info
	a := doc.Find(".allc a[href]").First()
	if a.Length() == 0 {
		a = doc.Find(".ts-breadcrumb li a[href]").Eq(1)
	}
	ci.Series = engine.Clean(a.Text())
	ci.Title = engine.Clean(doc.Find("h1.entry-title").First().Text())
	if ci.Series != "" {
		if rest, ok := strings.CutPrefix(ci.Title, ci.Series); ok && strings.TrimSpace(rest) != "" {
			ci.Title = strings.Trim(rest, " -–:")
		}
	}
	return engine.ChapterInfo(ci, doc.Url)
}

// Series is what a series page says.
type Series struct {
	Title string
	Links []engine.Link // as listed (newest first)
}

// ReadSeries reads the title (h1.entry-title) and the chapter list:
// #chapterlist li with its link, its .chapternum title and its data-num.
// The hidden history template (href "#/chapter-{{number}}") is not a
// chapter.
func ReadSeries(doc *goquery.Document, base *url.URL) Series {
	s := Series{Title: engine.Clean(doc.Find("h1.entry-title").First().Text())}
	doc.Find("#chapterlist li, .eplister li, div.bxcl li, div.cl li").Each(func(_ int, li *goquery.Selection) {
		a := li.Find(".eph-num a[href], a[href]").First()
		u := engine.LinkURL(base, a.AttrOr("href", ""))
		if u == "" {
			return
		}
		title := engine.Clean(li.Find(".chapternum, .lch a").First().Text())
		if title == "" {
			title = engine.Clean(a.Text())
		}
		n := engine.Number(title)
		if n == "" {
			n = engine.Number(li.AttrOr("data-num", ""))
		}
		if n == "" {
			if pu, err := url.Parse(u); err == nil {
				n = engine.NumberFromPath(pu.Path)
			}
		}
		s.Links = append(s.Links, engine.Link{URL: u, Title: title, Number: n})
	})
	return s
}
