package madara

import (
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
)

// ErrProtected: the chapter's image list is encrypted by Madara's chapter
// protector (#chapter-protector-data); the images are not in the page.
var ErrProtected = errors.New("the chapter's images are encrypted by the site's chapter protector")

// Detect reports whether doc is a page of a Madara site: the theme's or
// the plugin's assets, its script data, or its reader and chapter-list
// markup.
func Detect(doc *goquery.Document) bool {
	if doc.Find(`link[href*="/wp-content/themes/madara"], script[src*="/wp-content/themes/madara"], link[href*="/wp-content/plugins/madara-core/"], script[src*="/wp-content/plugins/madara-core/"], script#wp-manga-js-extra`).Length() > 0 {
		return true
	}
	if doc.Find(`img.wp-manga-chapter-img, #manga-chapters-holder, [id^="manga-chapters-holder"], li.wp-manga-chapter, #wp-manga-current-chap`).Length() > 0 {
		return true
	}
	body, _ := doc.Find("body").Attr("class")
	return strings.Contains(body, "wp-manga-template-default")
}

// IsChapter: the page is a chapter reader.
func IsChapter(doc *goquery.Document) bool {
	return doc.Find(".reading-content, #wp-manga-current-chap").Length() > 0
}

// IsSeries: the page is a series page (its chapter list inline, or the
// placeholder the list is loaded into).
func IsSeries(doc *goquery.Document) bool {
	return doc.Find(`#manga-chapters-holder, [id^="manga-chapters-holder"], li.wp-manga-chapter`).Length() > 0
}

// pageImages: every reader image of the list style (one .page-break per
// image) and of the paged style (img.wp-manga-chapter-img alone); WordPress
// gallery blocks some sites use for chapters. Only inside .reading-content:
// the theme's adverts (.c-ads), related series and comments are outside it.
const pageImages = ".reading-content .page-break img, .reading-content img.wp-manga-chapter-img, .reading-content .blocks-gallery-item img"

// Images returns the chapter's image URLs in reading order, resolved
// against base. On the paged reader (one image per page) the whole list
// comes from the chapter_preloaded_images script the theme prints; without
// it, paged is true and the caller should load the page again with
// ?style=list. A protected chapter is ErrProtected.
func Images(doc *goquery.Document, base *url.URL) (urls []string, paged bool, err error) {
	if doc.Find("#chapter-protector-data").Length() > 0 {
		return nil, false, ErrProtected
	}
	var raws []string
	onePage := false
	doc.Find(pageImages).Each(func(_ int, s *goquery.Selection) {
		if s.Closest(".c-ads, .ads, ins").Length() > 0 {
			return
		}
		if _, ok := s.Attr("data-image-paged"); ok {
			onePage = true
		}
		raws = append(raws, engine.ImageURL(s))
	})
	if pre := preloaded(doc); len(pre) > len(raws) {
		return engine.AbsoluteAll(base, pre), false, nil
	}
	urls = engine.AbsoluteAll(base, raws)
	return urls, onePage, nil
}

// preloaded reads `var chapter_preloaded_images = [...]` (or {"0":...}
// when PHP's json_encode got an array with holes).
func preloaded(doc *goquery.Document) []string {
	raw, ok := engine.ScriptJSON(doc, "chapter_preloaded_images =")
	if !ok {
		return nil
	}
	var list []string
	if json.Unmarshal([]byte(raw), &list) == nil {
		return list
	}
	var byIndex map[string]string
	if json.Unmarshal([]byte(raw), &byIndex) != nil {
		return nil
	}
	keys := make([]int, 0, len(byIndex))
	for k := range byIndex {
		if n, err := strconv.Atoi(k); err == nil {
			keys = append(keys, n)
		}
	}
	sort.Ints(keys)
	for _, k := range keys {
		list = append(list, byIndex[strconv.Itoa(k)])
	}
	return list
}

// ReadChapter reads the series and chapter names from the breadcrumb
// (Home / All Mangas / <series> / <chapter>), else from #chapter-heading
// ("<series> - <chapter>").
func ReadChapter(doc *goquery.Document) engine.Info {
	var ci engine.Info
	crumbs := doc.Find(".c-breadcrumb ol.breadcrumb li, ol.breadcrumb li")
	if active := crumbs.Filter(".active").Last(); active.Length() > 0 {
		ci.Title = engine.Clean(active.Text())
		ci.Series = engine.Clean(active.Prev().Find("a[href]").Last().Text())
	}
	if ci.Series == "" || ci.Title == "" {
		h := engine.Clean(doc.Find("#chapter-heading").First().Text())
		if i := strings.LastIndex(h, " - "); i > 0 {
			if ci.Series == "" {
				ci.Series = h[:i]
			}
			if ci.Title == "" {
				ci.Title = h[i+3:]
			}
		}
	}
	return engine.ChapterInfo(ci, doc.Url)
}

// Series is what a series page says: its title, the id its chapter list
// is loaded with, and the chapters it lists inline (newest first, as the
// theme lists them).
type Series struct {
	Title    string
	HolderID string // #manga-chapters-holder[data-id]: the post id admin-ajax.php wants
	Links    []engine.Link
}

// ReadSeries reads a series page.
func ReadSeries(doc *goquery.Document, base *url.URL) Series {
	s := Series{
		Title:    engine.Clean(doc.Find(".post-title h1, .post-title h3, #manga-title h1").First().Text()),
		HolderID: strings.TrimSpace(doc.Find(`#manga-chapters-holder[data-id], [id^="manga-chapters-holder"][data-id]`).First().AttrOr("data-id", "")),
		Links:    Chapters(doc, base),
	}
	if s.Title == "" {
		s.Title = engine.Clean(doc.Find(`meta[property="og:title"]`).AttrOr("content", ""))
	}
	return s
}

// Chapters reads the chapter list (li.wp-manga-chapter) of a series page
// or of the AJAX answer that holds it. Lists in sidebars and widgets
// (other series' latest chapters) are left out; when some links lie under
// the series' own path, only those are kept.
func Chapters(doc *goquery.Document, base *url.URL) []engine.Link {
	var links []engine.Link
	doc.Find("li.wp-manga-chapter").Each(func(_ int, li *goquery.Selection) {
		if li.Closest(".sidebar, .c-sidebar, .widget, .sidebar-col").Length() > 0 {
			return
		}
		a := li.Find("a[href]").FilterFunction(func(_ int, a *goquery.Selection) bool {
			return engine.LinkURL(base, a.AttrOr("href", "")) != "" && engine.Clean(a.Text()) != ""
		}).First()
		u := engine.LinkURL(base, a.AttrOr("href", ""))
		if u == "" {
			return
		}
		title := engine.Clean(a.Text())
		n := engine.Number(title)
		if n == "" {
			if pu, err := url.Parse(u); err == nil {
				n = engine.NumberFromPath(pu.Path)
			}
		}
		links = append(links, engine.Link{URL: u, Title: title, Number: n})
	})
	return underSeries(links, base)
}

// underSeries keeps the links under the series' path when there are any
// (Madara builds chapter links as <series URL><chapter slug>/).
func underSeries(links []engine.Link, base *url.URL) []engine.Link {
	if base == nil || !strings.HasSuffix(base.Path, "/") || strings.Count(base.Path, "/") < 3 {
		return links
	}
	prefix := base.Scheme + "://" + base.Host + base.Path
	var under []engine.Link
	for _, l := range links {
		if strings.HasPrefix(l.URL, prefix) && len(l.URL) > len(prefix) {
			under = append(under, l)
		}
	}
	if len(under) == 0 {
		return links
	}
	return under
}
