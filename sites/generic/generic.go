package generic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

const (
	siteName = "generic"
	// maxHTML bounds one HTML page read by the generic handler.
	maxHTML = 5 << 20
	// maxNext bounds the HTML pages followed through a rule's next
	// link for one chapter.
	maxNext = 200
	// minSide: images whose width or height attribute is below this
	// are icons, avatars or pixels, not pages.
	minSide = 100
)

func init() {
	sites.Register(sites.Info[Options]{
		Name:        siteName,
		Description: "Any other web page that shows a chapter's images (gallery heuristic, or operator rules per host).",
		Patterns:    []string{"any other https://... page with the chapter's images"},
		Options:     func() *Options { return &Options{} },
		New:         newHandler,
		Fallback:    true,
	})
}

// Options are the [sites.generic] options.
type Options struct {
	Rules []Rule `toml:"rules" help:"Operator-defined sites: how to find the chapter images on a host's pages.\nA host with a rule is read with its selector; other hosts use the gallery heuristic."`
}

// Rule tells the generic handler how to read one host's chapter pages.
type Rule struct {
	Host      string  `toml:"host" help:"Host name (reader.example.com), or *.example.com for example.com and all its subdomains." example:"\"reader.example.com\""`
	Selector  string  `toml:"selector" help:"CSS selector of the chapter's images, in page order." example:"\"#reader img.page\""`
	Attribute string  `toml:"attribute" help:"Attribute holding the image URL (src, data-src, srcset, ...); empty: src." example:"\"data-src\""`
	Referer   string  `toml:"referer" help:"Referer sent with the images; empty: the page the image was found on." example:"\"\""`
	Rate      float64 `toml:"rate" range:"[0,10000]" help:"Requests per second to this host (exact host rules only); 0: the [download] rate." example:"1.0"`
	Next      string  `toml:"next" help:"CSS selector of the next-page link, for readers that spread a chapter over several pages (followed on the same host, at most 200 pages); empty: one page." example:"\"\""`
}

// limitBurst is the burst of the host limits that rules ask for.
const limitBurst = 1

type compiledRule struct {
	Rule
	wildcard string // ".example.com" for *.example.com; "" for an exact host
	sel      goquery.Matcher
	next     goquery.Matcher // nil: no next link
}

type handler struct {
	rules []compiledRule
}

func newHandler(o *Options) (sites.Handler, error) {
	h := &handler{}
	seen := map[string]int{}
	for i, r := range o.Rules {
		cr, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d].%w", i, err)
		}
		if j, dup := seen[cr.Host]; dup {
			return nil, fmt.Errorf("rules[%d].host: %q is already used by rules[%d]", i, cr.Host, j)
		}
		seen[cr.Host] = i
		h.rules = append(h.rules, cr)
	}
	return h, nil
}

// compileRule validates one rule; its errors start with the key name so the
// caller can prefix "rules[i].".
func compileRule(r Rule) (compiledRule, error) {
	cr := compiledRule{Rule: r}
	cr.Host = strings.ToLower(strings.TrimSpace(r.Host))
	cr.Selector = strings.TrimSpace(r.Selector)
	cr.Attribute = strings.TrimSpace(r.Attribute)
	cr.Next = strings.TrimSpace(r.Next)
	cr.Referer = strings.TrimSpace(r.Referer)
	if cr.Host == "" {
		return cr, errors.New("host: required")
	}
	name := cr.Host
	if rest, ok := strings.CutPrefix(cr.Host, "*."); ok {
		cr.wildcard = "." + rest
		name = rest
	}
	if !validHostName(name) {
		return cr, fmt.Errorf("host: %q is not a host name (want reader.example.com or *.example.com, without scheme, port or path)", r.Host)
	}
	if cr.Selector == "" {
		return cr, errors.New("selector: required")
	}
	m, err := compileSelector(cr.Selector)
	if err != nil {
		return cr, fmt.Errorf("selector: %w", err)
	}
	cr.sel = m
	if cr.Attribute == "" {
		cr.Attribute = "src"
	}
	if strings.ContainsAny(cr.Attribute, " \t\n\"'=<>/") {
		return cr, fmt.Errorf("attribute: %q is not an attribute name", r.Attribute)
	}
	cr.Attribute = strings.ToLower(cr.Attribute)
	if cr.Referer != "" {
		if _, err := sites.ParseURL(cr.Referer); err != nil {
			return cr, fmt.Errorf("referer: %w", err)
		}
	}
	if cr.Rate < 0 || math.IsNaN(cr.Rate) || math.IsInf(cr.Rate, 0) {
		return cr, fmt.Errorf("rate: must be 0 or above, got %v", r.Rate)
	}
	if cr.Rate > 0 && cr.wildcard != "" {
		// The fetcher's host limits match exact host names.
		return cr, fmt.Errorf("rate: needs an exact host, not %q (add a rule per host to limit it)", cr.Host)
	}
	if cr.Next != "" {
		m, err := compileSelector(cr.Next)
		if err != nil {
			return cr, fmt.Errorf("next: %w", err)
		}
		cr.next = m
	}
	return cr, nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$`)

// validHostName accepts DNS names and IPv4 literals (lower case).
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// Limits asks for the rate of every rule that sets one (exact hosts only;
// validation refuses a rate on a wildcard rule).
func (h *handler) Limits() []download.HostLimit {
	var out []download.HostLimit
	for _, r := range h.rules {
		if r.Rate > 0 {
			out = append(out, download.HostLimit{Host: r.Host, Rate: r.Rate, Burst: limitBurst})
		}
	}
	return out
}

// Match takes any http(s) link: the generic handler is the fallback.
func (h *handler) Match(u *url.URL) bool {
	return u != nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// rule returns the rule for a host: an exact rule first, else the longest
// matching wildcard; nil when none.
func (h *handler) rule(host string) *compiledRule {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var best *compiledRule
	for i := range h.rules {
		r := &h.rules[i]
		if r.wildcard == "" {
			if r.Host == host {
				return r
			}
			continue
		}
		if (strings.HasSuffix(host, r.wildcard) || host == r.wildcard[1:]) &&
			(best == nil || len(r.wildcard) > len(best.wildcard)) {
			best = r
		}
	}
	return best
}

// Resolve reads the page (and, for a rule with next, the pages after it)
// and returns one chapter.
func (h *handler) Resolve(ctx context.Context, env sites.Env, req sites.Request) ([]*sites.Chapter, error) {
	if req.URL == nil || !h.Match(req.URL) {
		return nil, fmt.Errorf("%w: not an http(s) link", sites.ErrUnsupported)
	}
	src := *req.URL
	src.Fragment, src.RawFragment = "", ""
	pg, err := getPage(ctx, env, &src)
	if err != nil {
		return nil, err
	}
	var pages []download.Page
	if r := h.rule(src.Hostname()); r != nil {
		pages, err = r.pages(ctx, env, pg)
	} else {
		pages, err = galleryPages(pg)
	}
	if err != nil {
		return nil, err
	}
	// user:pass@ in the link is for the reader's host alone: it goes
	// neither into the Referer of images (often on other hosts), nor into
	// SourceURL (the PDF's Subject, messages), nor into the ID.
	ch := &sites.Chapter{
		Site:      siteName,
		ID:        pageID(withoutUser(&src)),
		SourceURL: withoutUser(req.URL).String(),
		Pages:     pages,
	}
	ch.Series, ch.Number, ch.Title = pageTitle(pg.doc, src.Hostname())
	return []*sites.Chapter{ch}, nil
}

// withoutUser is a copy of u without user:pass@ (nil for nil).
func withoutUser(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	c := *u
	c.User = nil
	return &c
}

func pageID(u *url.URL) string {
	sum := sha256.Sum256([]byte(u.String()))
	return hex.EncodeToString(sum[:8])
}

// htmlPage is one fetched and parsed HTML page.
type htmlPage struct {
	url  *url.URL // final URL (after redirects): the Referer
	base *url.URL // <base href> resolved, else url
	doc  *goquery.Document
}

// getPage fetches and parses one HTML page.
func getPage(ctx context.Context, env sites.Env, u *url.URL) (*htmlPage, error) {
	doc, err := sites.DoHTML(ctx, env, sites.Req{URL: u, MaxBytes: maxHTML})
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", withoutUser(u), err)
	}
	return newHTMLPage(doc), nil
}

// newHTMLPage wraps a parsed page whose Url is set, taking <base href>.
func newHTMLPage(doc *goquery.Document) *htmlPage {
	pg := &htmlPage{url: doc.Url, base: doc.Url, doc: doc}
	if b, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if bu, err := doc.Url.Parse(strings.TrimSpace(b)); err == nil && (bu.Scheme == "http" || bu.Scheme == "https") {
			pg.base = bu
		}
	}
	return pg
}

// resolve makes an image URL absolute; "" when it is not a usable http(s)
// image link (empty, data:, javascript:, svg).
func (pg *htmlPage) resolve(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.HasPrefix(raw, "#") {
		return ""
	}
	u, err := pg.base.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	if strings.EqualFold(path.Ext(u.Path), ".svg") {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// pages reads pg (and the pages its next link leads to) with the rule.
func (r *compiledRule) pages(ctx context.Context, env sites.Env, pg *htmlPage) ([]download.Page, error) {
	var out []download.Page
	seen := map[string]bool{}
	visited := map[string]bool{}
	first := pg
	for n := 0; ; n++ {
		visited[pageKey(pg.url)] = true
		referer := r.Referer
		if referer == "" {
			referer = withoutUser(pg.url).String()
		}
		pg.doc.FindMatcher(r.sel).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr(r.Attribute)
			if strings.HasSuffix(r.Attribute, "srcset") {
				v = largestSrcset(v)
			}
			if u := pg.resolve(v); u != "" && !seen[u] {
				seen[u] = true
				out = append(out, download.Page{URL: u, Header: http.Header{"Referer": {referer}}})
			}
		})
		if n == 0 && len(out) == 0 {
			return nil, fmt.Errorf("%w: rule for %s: selector %q (attribute %q) found no images on %s", sites.ErrLayout, r.Host, r.Selector, r.Attribute, withoutUser(pg.url))
		}
		if r.next == nil || n+1 >= maxNext {
			break
		}
		nu := r.nextURL(pg, first.url)
		if nu == nil || visited[pageKey(nu)] {
			break
		}
		next, err := getPage(ctx, env, nu)
		if err != nil {
			return nil, fmt.Errorf("next page %d: %w", n+2, err)
		}
		pg = next
	}
	return out, nil
}

// nextURL finds the rule's next link on pg; nil when there is none or it
// leaves the chapter's host.
func (r *compiledRule) nextURL(pg *htmlPage, start *url.URL) *url.URL {
	var found *url.URL
	pg.doc.FindMatcher(r.next).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		href, ok := s.Attr("href")
		if !ok {
			href, ok = s.Find("a[href]").First().Attr("href")
		}
		href = strings.TrimSpace(href)
		if !ok || href == "" || strings.HasPrefix(href, "#") {
			return true
		}
		u, err := pg.base.Parse(href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, start.Host) {
			return true
		}
		u.Fragment, u.RawFragment = "", ""
		found = u
		return false
	})
	return found
}

func pageKey(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	c.Host = strings.ToLower(c.Host)
	return c.String()
}

// Gallery heuristic.

// readerContainers are the containers reader themes put the pages in;
// the one holding the most candidates wins.
var readerContainers = strings.Join([]string{
	"#reader", ".reader", ".reading-content", ".chapter-content", "#images",
	"#readerarea", ".reader-area", ".container-chapter-reader", "#chapter-images", ".chapter-images",
}, ", ")

// decoyWords mark elements (by class or id) that hold no chapter pages.
var decoyWords = map[string]bool{
	"logo": true, "avatar": true, "avatars": true, "comment": true, "comments": true,
	"sidebar": true, "widget": true, "banner": true, "ad": true, "ads": true, "advert": true,
	"advertisement": true, "sponsor": true, "sponsored": true, "share": true, "social": true,
	"related": true, "recommended": true, "emoji": true, "icon": true, "icons": true,
	"profile": true, "user": true, "author": true, "gravatar": true,
}

type candidate struct {
	node  *html.Node
	url   string
	decoy bool // in an element whose class or id says ad, avatar, comment, ...
}

func galleryPages(pg *htmlPage) ([]download.Page, error) {
	var cands []candidate
	pg.doc.Find("img").Each(func(_ int, s *goquery.Selection) {
		if s.Closest("header, nav, footer, aside").Length() > 0 {
			return
		}
		if tinyAttr(s, "width") || tinyAttr(s, "height") {
			return
		}
		u := pg.resolve(imgURL(s))
		if u == "" {
			return
		}
		cands = append(cands, candidate{node: s.Nodes[0], url: u})
	})
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no chapter images found on %s", sites.ErrLayout, pg.url.Host)
	}
	count := countBelow(cands)
	for i := range cands {
		cands[i].decoy = isDecoy(cands[i].node, count, len(cands))
	}
	// Leave out decoys unless nothing else is left.
	if kept := filterCands(cands, func(c candidate) bool { return !c.decoy }); len(kept) > 0 {
		cands = kept
	}

	var chosen []candidate
	// A known reader container: the one holding the most candidates.
	best, bestN := (*html.Node)(nil), 0
	pg.doc.Find(readerContainers).Not("html, body").Each(func(_ int, s *goquery.Selection) {
		n := 0
		for _, c := range cands {
			if contains(s.Nodes[0], c.node) {
				n++
			}
		}
		if n > bestN {
			best, bestN = s.Nodes[0], n
		}
	})
	if best != nil {
		chosen = filterCands(cands, func(c candidate) bool { return contains(best, c.node) })
	} else {
		root := dominant(pg.doc.Nodes[0], cands)
		chosen = filterCands(cands, func(c candidate) bool { return contains(root, c.node) })
	}

	referer := withoutUser(pg.url).String()
	var out []download.Page
	seen := map[string]bool{}
	for _, c := range chosen {
		if seen[c.url] {
			continue
		}
		seen[c.url] = true
		out = append(out, download.Page{URL: c.url, Header: http.Header{"Referer": {referer}}})
	}
	return out, nil
}

// dominant descends from root into the child holding more than half of the
// candidates below it, and stops where the images split (the reader
// container: its children hold one page each, or a few).
func dominant(root *html.Node, cands []candidate) *html.Node {
	count := countBelow(cands)
	n := root
	for {
		var next *html.Node
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if 2*count[c] > count[n] {
				next = c
				break
			}
		}
		if next == nil || count[next] < 2 {
			return n
		}
		n = next
	}
}

func filterCands(cs []candidate, keep func(candidate) bool) []candidate {
	var out []candidate
	for _, c := range cs {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func contains(anc, n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n == anc {
			return true
		}
	}
	return false
}

// countBelow counts the candidates in each element's subtree.
func countBelow(cands []candidate) map[*html.Node]int {
	count := map[*html.Node]int{}
	for _, c := range cands {
		for n := c.node; n != nil; n = n.Parent {
			count[n]++
		}
	}
	return count
}

// isDecoy reports whether n or an ancestor below <body> has a class or id
// word such as logo, avatar, comment, ad, sidebar. An element holding at
// least half of the page's candidates is layout ("main-col sidebar-hidden",
// "has-sidebar"), not a decoy, whatever its class says.
func isDecoy(n *html.Node, count map[*html.Node]int, total int) bool {
	for ; n != nil && n.Type == html.ElementNode && n.Data != "body" && n.Data != "html"; n = n.Parent {
		if 2*count[n] > total {
			continue
		}
		for _, a := range n.Attr {
			if a.Key != "class" && a.Key != "id" {
				continue
			}
			for _, w := range strings.FieldsFunc(strings.ToLower(a.Val), func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
			}) {
				if decoyWords[w] {
					return true
				}
			}
		}
	}
	return false
}

// tinyAttr: a numeric width/height attribute below minSide.
func tinyAttr(s *goquery.Selection, name string) bool {
	v, ok := s.Attr(name)
	if !ok {
		return false
	}
	v = strings.TrimSuffix(strings.TrimSpace(v), "px")
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n < minSide
}

// imgURL picks the real image of an <img>: lazy-loading attributes first
// (their src is a placeholder), then the largest srcset candidate, then src.
func imgURL(s *goquery.Selection) string {
	for _, a := range []string{"data-src", "data-lazy-src", "data-original", "data-lazy", "data-url"} {
		if v, ok := s.Attr(a); ok && usableRaw(v) {
			return v
		}
	}
	for _, a := range []string{"data-srcset", "data-lazy-srcset", "srcset"} {
		if v, ok := s.Attr(a); ok {
			if u := largestSrcset(v); usableRaw(u) {
				return u
			}
		}
	}
	v, _ := s.Attr("src")
	return v
}

func usableRaw(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !strings.HasPrefix(strings.ToLower(v), "data:")
}

// largestSrcset returns the candidate of a srcset with the largest width
// descriptor (or, without widths, the largest density); "" when empty.
func largestSrcset(set string) string {
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

// Titles.

var (
	chapterRe = regexp.MustCompile(`(?i)\b(?:chapter|chap\.?|ch\.?|episode|ep\.?)\s*#?\s*(\d+(?:\.\d+)?)`)
	spaceRe   = regexp.MustCompile(`\s+`)
	seps      = " \t-–—|:·•,"
)

// pageTitle derives series, chapter number and chapter title from the page
// title (og:title, else <title>), without the site's name.
func pageTitle(doc *goquery.Document, host string) (series, number, title string) {
	t, _ := doc.Find(`meta[property="og:title"]`).First().Attr("content")
	if strings.TrimSpace(t) == "" {
		t = doc.Find("title").First().Text()
	}
	t = strings.TrimSpace(spaceRe.ReplaceAllString(t, " "))
	site, _ := doc.Find(`meta[property="og:site_name"]`).First().Attr("content")
	site = strings.TrimSpace(site)
	for _, sep := range []string{" | ", " - ", " – ", " — ", " · "} {
		parts := strings.Split(t, sep)
		if len(parts) < 2 {
			continue
		}
		last := strings.TrimSpace(parts[len(parts)-1])
		if (site != "" && strings.EqualFold(last, site)) || looksLikeSiteName(last, host) {
			t = strings.TrimSpace(strings.Join(parts[:len(parts)-1], sep))
		}
	}
	t = strings.TrimSpace(strings.TrimPrefix(t, "Read "))
	for _, suf := range []string{" Online Free", " online free", " Online", " online"} {
		t = strings.TrimSuffix(t, suf)
	}
	if loc := chapterRe.FindStringSubmatchIndex(t); loc != nil {
		number = t[loc[2]:loc[3]]
		series = strings.Trim(t[:loc[0]], seps)
		// What follows the number is the chapter's title, up to the next
		// separator (" | Site", " - download.Page 2").
		title = strings.Trim(t[loc[1]:], seps)
		for _, sep := range []string{" | ", " - ", " – ", " — ", " · "} {
			title, _, _ = strings.Cut(title, sep)
		}
		title = strings.Trim(title, seps)
	} else {
		series = t
	}
	if series == "" {
		series = host
	}
	return series, number, title
}

// looksLikeSiteName: the title part names the host ("MangaSite" on
// www.mangasite.com).
func looksLikeSiteName(part, host string) bool {
	p := strings.ToLower(strings.NewReplacer(" ", "", "-", "", ".", "").Replace(part))
	h := strings.ToLower(strings.TrimPrefix(host, "www."))
	if i := strings.LastIndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	h = strings.NewReplacer("-", "", ".", "").Replace(h)
	return p != "" && h != "" && (p == h || strings.Contains(p, h))
}

// compileSelector compiles a CSS selector group (goquery silently matches
// nothing on a bad selector, so rules are checked here).
func compileSelector(sel string) (goquery.Matcher, error) {
	m, err := cascadia.Compile(sel)
	if err != nil {
		return nil, fmt.Errorf("invalid CSS selector %q: %v", sel, err)
	}
	return m, nil
}
