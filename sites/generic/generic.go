package generic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
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
	Render    bool    `toml:"render" help:"Render the host's pages in the headless browser ([browser] enabled) before reading them: for readers whose images are put in by scripts." example:"false"`
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
	r := h.rule(src.Hostname())
	pg, err := r.load(ctx, env, &src)
	if err != nil {
		return nil, err
	}
	var pages []download.Page
	if r == nil {
		// A page of a known engine (Madara, MangaThemesia, FoOlSlide) is
		// read by that engine, which also lists series' chapters; the host
		// is remembered so that its next links go to the engine directly.
		pg.doc.Url = withoutUser(pg.url)
		if e, ok := engine.Detect(pg.doc); ok {
			chs, err := e.Read(ctx, env, req, pg.doc)
			if err != nil {
				return nil, fmt.Errorf("%s site: %w", e.Label, err)
			}
			return chs, nil
		}
	}
	if req.Chapters != "" {
		// A page of images is one chapter with no list to select from:
		// ignoring the selection would download what was not asked for.
		return nil, fmt.Errorf("%w: %s is one chapter, with no chapter list to select %q from; give a series link, or leave the chapter selection out", sites.ErrBadSelection, src.String(), req.Chapters)
	}
	if r != nil {
		pages, err = r.pages(ctx, env, pg)
	} else {
		pages, err = galleryPages(pg)
		if err != nil && autoRender(env, pg, err) {
			if pg, err = renderPage(ctx, env, &src); err == nil {
				pages, err = galleryPages(pg)
			}
		}
		var none noImages
		if errors.As(err, &none) {
			if n := seriesLinks(pg); n >= 2 {
				return nil, seriesPage{none.url, n}
			}
		}
	}
	if err != nil {
		return nil, refusalNote(pg, err)
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
	url      *url.URL // final URL (after redirects): the Referer
	base     *url.URL // <base href> resolved, else url
	doc      *goquery.Document
	rendered *sites.Rendered // set when the browser rendered the page
}

// getPage fetches and parses one HTML page.
func getPage(ctx context.Context, env sites.Env, u *url.URL) (*htmlPage, error) {
	doc, err := sites.DoHTML(ctx, env, sites.Req{URL: u, MaxBytes: maxHTML})
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", withoutUser(u), err)
	}
	return newPage(doc), nil
}

// newPage wraps a parsed page; doc.Url is its final URL.
func newPage(doc *goquery.Document) *htmlPage {
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
	return engine.Absolute(pg.base, raw)
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
				v = engine.LargestSrcset(v)
			}
			if u := pg.resolve(v); u != "" && !seen[u] {
				seen[u] = true
				out = append(out, download.Page{URL: u, Header: pg.header(u, referer)})
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
		next, err := r.load(ctx, env, nu)
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

// decoyWords mark elements (by class or id) that hold no chapter pages:
// site chrome, adverts, comments, and the series' cover and thumbnails.
var decoyWords = map[string]bool{
	"logo": true, "avatar": true, "avatars": true, "comment": true, "comments": true,
	"sidebar": true, "widget": true, "banner": true, "ad": true, "ads": true, "advert": true,
	"advertisement": true, "sponsor": true, "sponsored": true, "share": true, "social": true,
	"related": true, "recommended": true, "emoji": true, "icon": true, "icons": true,
	"profile": true, "user": true, "author": true, "gravatar": true,
	"branding": true, "brand": true,
	"cover": true, "thumb": true, "thumbnail": true, "thumbnails": true, "poster": true, "popular": true,
}

// decoyURL: image addresses that are decorations whatever element holds
// them: avatars, logos, advert and emoji folders, and WordPress's resized
// copies ("cover-193x278.jpg"), which are thumbnails, never pages.
var decoyURL = regexp.MustCompile(`(?i)(gravatar\.com/|/avatars?[/_-]|logo[^/]*\.[a-z]+$|/ads?/|/banners?/|/smilies/|/emoji/|-\d{2,3}x\d{2,3}\.(?:jpe?g|png|webp|gif|avif)$)`)

// thumbSide: an image whose width and height attributes are both below
// this is a thumbnail (covers of related series, widget images); chapter
// pages are larger.
const thumbSide = 400

type candidate struct {
	node  *html.Node
	url   string
	decoy bool // a decoration: cover, logo, avatar, advert, thumbnail
	lazy  bool // the page loads it lazily (data-src, ...): readers do, for pages
}

// noImages is the error of a page that shows no chapter images, or only
// decorations: one line that says where to go next.
type noImages struct{ url string }

func (e noImages) Error() string {
	return "no chapter images found on " + e.url + "; if this site needs a rule, see [[sites.generic.rules]]"
}

func (e noImages) Unwrap() error { return sites.ErrLayout }

// seriesPage is the error of a series page the generic handler cannot
// list: it reads one chapter per link.
type seriesPage struct {
	url      string
	chapters int
}

func (e seriesPage) Error() string {
	return fmt.Sprintf("%s looks like a series page (%d chapter links): give a chapter's link, or, if the site runs Madara, MangaThemesia or FoOlSlide, pin it to its engine ([sites.madara] hosts = [...])", e.url, e.chapters)
}

func (e seriesPage) Unwrap() error { return sites.ErrUnsupported }

// covers are the page's own announcements of its cover image (og:image,
// twitter:image, image_src): an <img> showing one of them is not a page.
func covers(pg *htmlPage) map[string]bool {
	out := map[string]bool{}
	pg.doc.Find(`meta[property="og:image"], meta[name="twitter:image"], meta[property="twitter:image"], link[rel="image_src"]`).Each(func(_ int, s *goquery.Selection) {
		v := s.AttrOr("content", s.AttrOr("href", ""))
		if u := pg.resolve(v); u != "" {
			out[u] = true
		}
	})
	return out
}

func galleryPages(pg *htmlPage) ([]download.Page, error) {
	var cands []candidate
	cover := covers(pg)
	pg.doc.Find("img").Each(func(_ int, s *goquery.Selection) {
		if s.Closest("header, nav, footer, aside").Length() > 0 {
			return
		}
		if tinyAttr(s, "width", minSide) || tinyAttr(s, "height", minSide) {
			return
		}
		u := pg.resolve(engine.ImageURL(s))
		if u == "" {
			return
		}
		c := candidate{node: s.Nodes[0], url: u}
		c.decoy = cover[u] || decoyURL.MatchString(strings.SplitN(u, "?", 2)[0]) ||
			(tinyAttr(s, "width", thumbSide) && tinyAttr(s, "height", thumbSide))
		for _, a := range []string{"data-src", "data-lazy-src", "data-original", "data-lazy", "data-srcset"} {
			if _, ok := s.Attr(a); ok {
				c.lazy = true
			}
		}
		cands = append(cands, c)
	})
	count := countBelow(cands)
	for i := range cands {
		cands[i].decoy = cands[i].decoy || isDecoy(cands[i].node, count, len(cands))
	}
	// Decorations never make a chapter: when nothing else is left, the
	// page shows no chapter.
	cands = filterCands(cands, func(c candidate) bool { return !c.decoy })
	if len(cands) == 0 {
		return nil, noImages{withoutUser(pg.url).String()}
	}

	var chosen []candidate
	inReader := false
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
		inReader = true
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
		out = append(out, download.Page{URL: c.url, Header: pg.header(c.url, referer)})
	}
	// Outside a reader container and without lazy loading, the images
	// must look like a chapter's: pages come several to a folder
	// ("…/ch12/01.jpg", "…/ch12/02.jpg"). A logo and a promotion from two
	// folders, or one illustration, are not a chapter.
	if !inReader && !anyLazy(chosen) && largestFolder(out) < 2 {
		return nil, noImages{referer}
	}
	return out, nil
}

func anyLazy(cs []candidate) bool {
	for _, c := range cs {
		if c.lazy {
			return true
		}
	}
	return false
}

// largestFolder is the number of pages in the folder (URL path without
// the file name, whatever the host: CDNs shard pages over hosts) that
// holds the most of them.
func largestFolder(pages []download.Page) int {
	n := map[string]int{}
	best := 0
	for _, p := range pages {
		u, err := url.Parse(p.URL)
		if err != nil {
			continue
		}
		d := path.Dir(u.Path)
		n[d]++
		if n[d] > best {
			best = n[d]
		}
	}
	return best
}

// seriesLinks counts the links of a page that name a chapter ("Chapter
// 12", "Ep. 3"): a page without chapter images but with these is a series
// page.
func seriesLinks(pg *htmlPage) int {
	n := 0
	seen := map[string]bool{}
	pg.doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		t := engine.Clean(s.Text())
		href := s.AttrOr("href", "")
		if seen[href] || engine.Number(t) == "" || !strings.ContainsFunc(t, unicode.IsLetter) {
			return
		}
		seen[href] = true
		n++
	})
	return n
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

// tinyAttr: a numeric width/height attribute below limit.
func tinyAttr(s *goquery.Selection, name string, limit float64) bool {
	v, ok := s.Attr(name)
	if !ok {
		return false
	}
	v = strings.TrimSuffix(strings.TrimSpace(v), "px")
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n < limit
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
