package foolslide

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
)

// Detect reports whether doc is a FoOlSlide page: its generator tag, its
// reader script with the reader's top bar, its chapter list, or its adult
// notice.
func Detect(doc *goquery.Document) bool {
	if gen, ok := doc.Find(`meta[name="generator"]`).Attr("content"); ok && strings.HasPrefix(strings.ToLower(strings.TrimSpace(gen)), "foolslide") {
		return true
	}
	if doc.Find(`div.list div.element div.title a[href*="/read/"], div.group div.element div.title a[href*="/read/"]`).Length() > 0 {
		return true
	}
	if doc.Find(".topbar .tbtitle").Length() > 0 {
		if _, ok := pagesJSON(doc); ok {
			return true
		}
	}
	return false
}

// IsAdultGate: the page is FoOlSlide's adult-content notice, which a POST
// of adult=true to the same address answers with the real page.
func IsAdultGate(doc *goquery.Document) bool {
	return doc.Find(`form input[name="adult"][value="true"]`).Length() > 0
}

// IsChapter: the page is the reader.
func IsChapter(doc *goquery.Document) bool {
	_, ok := pagesJSON(doc)
	return ok
}

// IsSeries: the page lists a series' chapters.
func IsSeries(doc *goquery.Document) bool {
	return doc.Find(`div.list div.element, div.group div.element`).Length() > 0
}

// atobPages: some installs obfuscate the list as
// `var pages = JSON.parse(atob("W3siaWQiOj..."));`.
var atobPages = regexp.MustCompile(`pages\s*=\s*JSON\.parse\s*\(\s*atob\s*\(\s*["']([A-Za-z0-9+/=]+)["']\s*\)\s*\)`)

// pagesJSON returns the JSON list of the reader's pages.
func pagesJSON(doc *goquery.Document) (string, bool) {
	if raw, ok := engine.ScriptJSON(doc, "var pages ="); ok {
		return raw, true
	}
	var out string
	doc.Find("script").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		m := atobPages.FindStringSubmatch(s.Text())
		if m == nil {
			return true
		}
		if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			out = string(b)
			return false
		}
		return true
	})
	return out, out != ""
}

// Images returns the chapter's page URLs in reading order (FoOlSlide lists
// them by file name): every page's "url", not its "thumb_url".
func Images(doc *goquery.Document, base *url.URL) []string {
	raw, ok := pagesJSON(doc)
	if !ok {
		return nil
	}
	var pages []struct {
		URL string `json:"url"`
	}
	if json.Unmarshal([]byte(raw), &pages) != nil {
		return nil
	}
	raws := make([]string, len(pages))
	for i, p := range pages {
		raws[i] = p.URL
	}
	return engine.AbsoluteAll(base, raws)
}

// Path is a reader address taken apart.
type Path struct {
	Root   string // the install's root path ("/slide/"), before "read/"
	Series string // stub
	Lang   string
	Volume string
	Number string // chapter[.subchapter]
}

// ParsePath reads /…/read/<series>/<lang>/<volume>/<chapter>/[<sub>/]
// [page/<n>]; ok is false for other paths.
func ParsePath(p string) (Path, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		if s != "read" || len(segs) < i+5 {
			continue
		}
		rp := Path{Root: "/" + strings.Join(segs[:i], "/"), Series: segs[i+1], Lang: segs[i+2], Volume: segs[i+3]}
		if !strings.HasSuffix(rp.Root, "/") {
			rp.Root += "/"
		}
		ch := segs[i+4]
		rp.Number = ch
		if len(segs) > i+5 && segs[i+5] != "page" && segs[i+5] != "0" && isDigits(segs[i+5]) {
			rp.Number = ch + "." + segs[i+5]
		}
		if !isDigits(ch) {
			return Path{}, false
		}
		return rp, true
	}
	return Path{}, false
}

// SeriesPath is the series page of the install at root: <root>series/<stub>/.
func (p Path) SeriesPath() string { return p.Root + "series/" + p.Series + "/" }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ReadChapter reads "<a>series</a> :: <a>Vol.2 Chapter 10: Title</a>"
// from the reader's h1.tbtitle, and the numbers from the address.
func ReadChapter(doc *goquery.Document) engine.Info {
	links := doc.Find("h1.tbtitle a[href]")
	ci := engine.Info{Series: engine.Clean(links.Eq(0).Text()), Title: engine.Clean(links.Eq(1).Text())}
	ci.Number = engine.Number(ci.Title)
	if doc.Url != nil {
		if p, ok := ParsePath(doc.Url.Path); ok {
			if ci.Number == "" {
				ci.Number = canonicalNumber(p.Number)
			}
			if p.Volume != "0" {
				ci.Volume = p.Volume
			}
		}
	}
	return ci
}

func canonicalNumber(n string) string {
	return engine.Number("Chapter " + n)
}

// Series is what a series page says.
type Series struct {
	Title string
	Links []engine.Link
}

// ReadSeries reads h1.title and the chapter list (div.list div.element
// div.title a). A chapter's number is read from its title, else from its
// address (custom titles carry no number).
func ReadSeries(doc *goquery.Document, base *url.URL) Series {
	s := Series{Title: engine.Clean(doc.Find("h1.title").First().Text())}
	doc.Find("div.list div.element div.title a[href], div.group div.element div.title a[href]").Each(func(_ int, a *goquery.Selection) {
		u := engine.LinkURL(base, a.AttrOr("href", ""))
		if u == "" {
			return
		}
		title := engine.Clean(a.Text())
		if title == "" {
			title = engine.Clean(a.AttrOr("title", ""))
		}
		l := engine.Link{URL: u, Title: title, Number: engine.Number(title)}
		if pu, err := url.Parse(u); err == nil {
			if p, ok := ParsePath(pu.Path); ok {
				if l.Number == "" {
					l.Number = canonicalNumber(p.Number)
				}
				if p.Volume != "0" {
					l.Volume = p.Volume
				}
			}
		}
		s.Links = append(s.Links, l)
	})
	return s
}
