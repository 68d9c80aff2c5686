package engine

import (
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// lazyAttrs hold the real image of lazy-loading readers; their src is a
// placeholder (Madara's dflazy.jpg, MangaThemesia's readerarea.svg). The
// values often come padded with tabs and newlines (Madara's
// content-reading-list.php prints the URL on its own indented line).
var lazyAttrs = []string{"data-src", "data-lazy-src", "data-original", "data-cfsrc", "data-lazy", "data-url"}

// ImageURL picks the real image of an <img>: lazy-loading attributes first,
// then the largest srcset candidate, then src. Whitespace around the value
// is dropped; data: URIs are not images of the chapter. "" when none.
func ImageURL(s *goquery.Selection) string {
	for _, a := range lazyAttrs {
		if v, ok := s.Attr(a); ok && usable(v) {
			return strings.TrimSpace(v)
		}
	}
	for _, a := range []string{"data-srcset", "data-lazy-srcset", "srcset"} {
		if v, ok := s.Attr(a); ok {
			if u := LargestSrcset(v); usable(u) {
				return u
			}
		}
	}
	if v, ok := s.Attr("src"); ok && usable(v) {
		return strings.TrimSpace(v)
	}
	return ""
}

func usable(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !strings.HasPrefix(strings.ToLower(v), "data:")
}

// LargestSrcset returns the candidate of a srcset with the largest width
// descriptor (or, without widths, the largest density); "" when empty.
func LargestSrcset(set string) string {
	best, bestW, bestX := "", -1.0, -1.0
	rest := set
	for {
		rest = strings.TrimLeft(rest, " \t\n\r\f,")
		if rest == "" {
			break
		}
		end := strings.IndexAny(rest, " \t\n\r\f")
		if end < 0 {
			end = len(rest)
		}
		u := rest[:end]
		rest = rest[end:]
		desc := ""
		if strings.HasSuffix(u, ",") {
			u = strings.TrimRight(u, ",")
		} else if i := strings.IndexByte(rest, ','); i >= 0 {
			desc, rest = rest[:i], rest[i+1:]
		} else {
			desc, rest = rest, ""
		}
		w, x := -1.0, 1.0
		for _, d := range strings.Fields(desc) {
			if len(d) < 2 {
				continue
			}
			f, err := strconv.ParseFloat(d[:len(d)-1], 64)
			if err != nil {
				continue
			}
			switch d[len(d)-1] {
			case 'w':
				w = f
			case 'x':
				x = f
			}
		}
		if w > bestW || (w == bestW && x > bestX) {
			best, bestW, bestX = u, w, x
		}
	}
	return best
}

// Absolute resolves raw against base and returns it when it is a usable
// http(s) image link: an http(s) link (see LinkURL) that is not an SVG
// (spinners and icons). "" otherwise.
func Absolute(base *url.URL, raw string) string {
	u := LinkURL(base, raw)
	if u == "" || strings.EqualFold(path.Ext(strings.SplitN(u, "?", 2)[0]), ".svg") {
		return ""
	}
	return u
}

// AbsoluteAll resolves every raw URL with Absolute and drops the unusable
// ones and repeats, keeping the order.
func AbsoluteAll(base *url.URL, raws []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range raws {
		if u := Absolute(base, r); u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// LinkURL resolves href against base; "" when it is empty, a fragment,
// or not an http(s) link (data:, javascript:). The fragment is dropped.
func LinkURL(base *url.URL, href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") || base == nil {
		return ""
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
