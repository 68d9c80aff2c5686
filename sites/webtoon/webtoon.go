package webtoon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
)

// Options are the [sites.webtoon] options. ImageHost is there for
// tests in spirit: the host name (no scheme, no port) the rate applies to;
// empty means webtoon-phinf.pstatic.net.
type Options struct {
	BaseURL   string  `toml:"base_url" help:"WEBTOON site root; links on its host are taken (on the default host also m.webtoons.com) and pages are fetched from it"`
	Referer   string  `toml:"referer" help:"Referer sent with page and image requests; the image host (webtoon-phinf.pstatic.net) refuses images without it"`
	Rate      float64 `toml:"rate" range:"(0,10000]" help:"requests per second to the image host (image_host)"`
	ImageHost string  `toml:"image_host" help:"host whose images get the rate limit"`
}

const (
	defaultBase      = "https://www.webtoons.com"
	defaultImageHost = "webtoon-phinf.pstatic.net"
	// consentCookie passes the GDPR/CCPA/COPPA consent and age gates.
	consentCookie = "needGDPR=false; needCCPA=false; needCOPPA=false; ageGatePass=true"
	// placeholder is the lazy-load placeholder in img src.
	placeholder  = "bg_transparency"
	maxPage      = 8 << 20 // bytes of one HTML page
	maxListPages = 1000    // list pages followed at most
)

func init() {
	sites.Register(sites.Info[Options]{
		Name:        "webtoon",
		Description: "WEBTOON (www.webtoons.com) episodes and series",
		Patterns: []string{
			"https://www.webtoons.com/<lang>/<genre>/<series>/<episode>/viewer?title_no=N&episode_no=M",
			"https://www.webtoons.com/<lang>/<genre>/<series>/list?title_no=N",
		},
		Options: func() *Options {
			return &Options{
				BaseURL:   defaultBase,
				Referer:   "https://www.webtoons.com/",
				Rate:      4,
				ImageHost: defaultImageHost,
			}
		},
		New: func(o *Options) (sites.Handler, error) { return newHandler(*o) },
	})
}

type handler struct {
	opts  Options
	base  *url.URL
	hosts map[string]bool // hosts Match takes (lower case, with port)
}

func newHandler(o Options) (*handler, error) {
	base, err := url.Parse(strings.TrimRight(strings.TrimSpace(o.BaseURL), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base_url: not an http(s) URL: %q", o.BaseURL)
	}
	base.Path, base.RawPath, base.RawQuery, base.Fragment = "", "", "", ""
	if o.Referer != "" {
		r, err := url.Parse(o.Referer)
		if err != nil || (r.Scheme != "http" && r.Scheme != "https") || r.Host == "" {
			return nil, fmt.Errorf("referer: not an http(s) URL: %q", o.Referer)
		}
	}
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("rate: must be > 0, got %v", o.Rate)
	}
	o.ImageHost = strings.ToLower(strings.TrimSpace(o.ImageHost))
	if o.ImageHost == "" {
		o.ImageHost = defaultImageHost
	}
	if _, err := netip.ParseAddr(o.ImageHost); err != nil && strings.ContainsAny(o.ImageHost, ":/@?#[] \t") {
		return nil, fmt.Errorf("image_host: not a host name (no scheme, port or path): %q", o.ImageHost)
	}
	h := &handler{opts: o, base: base, hosts: map[string]bool{strings.ToLower(base.Host): true}}
	if strings.EqualFold(base.Host, "www.webtoons.com") {
		h.hosts["m.webtoons.com"] = true
		h.hosts["webtoons.com"] = true
	}
	return h, nil
}

// Limits implements Limiter: the image host's rate.
func (h *handler) Limits() []download.HostLimit {
	burst := int(math.Ceil(h.opts.Rate))
	if burst < 1 {
		burst = 1
	}
	return []download.HostLimit{{Host: h.opts.ImageHost, Rate: h.opts.Rate, Burst: burst}}
}

// link is a parsed viewer or list link.
type link struct {
	segs      []string // path segments, the last being "viewer" or "list"
	lang      string
	titleNo   string
	episodeNo string // empty for a list link
}

var digits = regexp.MustCompile(`^[0-9]+$`)

func parseLink(u *url.URL) (link, bool) {
	var segs []string
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	q := u.Query()
	l := link{segs: segs, titleNo: q.Get("title_no")}
	if !digits.MatchString(l.titleNo) {
		return l, false
	}
	switch {
	case len(segs) >= 5 && segs[len(segs)-1] == "viewer":
		l.episodeNo = q.Get("episode_no")
		if !digits.MatchString(l.episodeNo) {
			return l, false
		}
	case len(segs) >= 4 && segs[len(segs)-1] == "list":
	default:
		return l, false
	}
	l.lang = segs[0]
	return l, true
}

// Match takes viewer and list links on the configured host.
func (h *handler) Match(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || !h.hosts[strings.ToLower(u.Host)] {
		return false
	}
	_, ok := parseLink(u)
	return ok
}

// Resolve turns an episode link into its chapter, or a series link into
// the selected episodes in reading order.
func (h *handler) Resolve(ctx context.Context, env sites.Env, req sites.Request) ([]*sites.Chapter, error) {
	if req.URL == nil {
		return nil, errors.New("no link")
	}
	l, ok := parseLink(req.URL)
	if !ok {
		return nil, sites.Unsupported("not a WEBTOON viewer or list link: %s", req.URL.Redacted())
	}
	if l.episodeNo != "" {
		ch, err := h.episode(ctx, env, h.viewerURL(l), nil)
		if err != nil {
			return nil, err
		}
		return []*sites.Chapter{ch}, nil
	}
	sel, err := sites.ParseSelection(req.Chapters)
	if err != nil {
		return nil, err
	}
	all, err := h.list(ctx, env, l)
	if err != nil {
		return nil, err
	}
	picked, err := sel.Apply(all, env.MaxChapters)
	if err != nil {
		return nil, err
	}
	out := make([]*sites.Chapter, 0, len(picked))
	for _, c := range picked {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u, err := url.Parse(c.SourceURL)
		if err != nil {
			return nil, fmt.Errorf("episode link %q: %w", c.SourceURL, err)
		}
		ch, err := h.episode(ctx, env, u, c)
		if err != nil {
			return nil, fmt.Errorf("episode %s: %w", c.Number, err)
		}
		out = append(out, ch)
	}
	return out, nil
}

// viewerURL is the canonical viewer link on the base host.
func (h *handler) viewerURL(l link) *url.URL {
	u := *h.base
	u.Path = "/" + strings.Join(l.segs, "/")
	u.RawQuery = "title_no=" + l.titleNo + "&episode_no=" + l.episodeNo
	return &u
}

// listURL is the canonical list link of page (1-based) on the base host.
func (h *handler) listURL(l link, page int) *url.URL {
	u := *h.base
	u.Path = "/" + strings.Join(l.segs, "/")
	u.RawQuery = "title_no=" + l.titleNo
	if page > 1 {
		u.RawQuery += "&page=" + strconv.Itoa(page)
	}
	return &u
}

// rebase resolves href against ref and moves it onto the base host (the
// site writes absolute www.webtoons.com links; tests and mirrors serve
// them elsewhere).
func (h *handler) rebase(ref *url.URL, href string) (*url.URL, error) {
	u, err := ref.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host, u.User, u.Fragment = h.base.Scheme, h.base.Host, nil, ""
	return u, nil
}

// get fetches an HTML page with the cookie and Referer WEBTOON needs.
func (h *handler) get(ctx context.Context, env sites.Env, u *url.URL) (*goquery.Document, error) {
	doc, err := sites.DoHTML(ctx, env, sites.Req{
		URL:      u,
		Referer:  h.opts.Referer,
		Header:   http.Header{"Accept": {"text/html,application/xhtml+xml"}, "Cookie": {consentCookie}},
		MaxBytes: maxPage,
	})
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", u, err)
	}
	if strings.Contains(strings.ToLower(doc.Url.Path), "/agegate") {
		return nil, fmt.Errorf("%w: WEBTOON redirected to its age check (%s)", sites.ErrLayout, doc.Url)
	}
	return doc, nil
}

// episode fetches a viewer page. from, when set, is the list entry the
// episode came from (its metadata fills gaps).
func (h *handler) episode(ctx context.Context, env sites.Env, u *url.URL, from *sites.Chapter) (*sites.Chapter, error) {
	l, ok := parseLink(u)
	if !ok || l.episodeNo == "" {
		return nil, fmt.Errorf("%w: not a WEBTOON viewer link: %s", sites.ErrLayout, u)
	}
	doc, err := h.get(ctx, env, u)
	if err != nil {
		return nil, err
	}
	ch, err := parseViewer(doc, u, h.opts.Referer)
	if err != nil {
		return nil, err
	}
	// The ID keeps episode_no (stable, what the links use); the number is
	// the "#N" the site shows, which differs from episode_no once episodes
	// were deleted: the list entry's, else the viewer's badge, else
	// episode_no.
	ch.ID = l.titleNo + "/" + l.episodeNo
	switch {
	case from != nil && from.Number != "":
		ch.Number = from.Number
	case ch.Number == "":
		ch.Number = l.episodeNo
	}
	ch.Language = l.lang
	ch.SourceURL = u.String()
	if from != nil {
		if ch.Series == "" {
			ch.Series = from.Series
		}
		if ch.Title == "" {
			ch.Title = from.Title
		}
		if len(ch.Credits) <= 1 && len(from.Credits) > 1 {
			ch.Credits = append([]string(nil), from.Credits...)
		}
	}
	return ch, nil
}

// parseViewer reads a viewer page: pages in order and metadata.
func parseViewer(doc *goquery.Document, pageURL *url.URL, referer string) (*sites.Chapter, error) {
	ch := &sites.Chapter{Site: "webtoon"}
	doc.Find("#_imageList img._images").Each(func(_ int, img *goquery.Selection) {
		raw := strings.TrimSpace(img.AttrOr("data-url", ""))
		if raw == "" {
			raw = strings.TrimSpace(img.AttrOr("src", ""))
			if strings.Contains(raw, placeholder) {
				raw = ""
			}
		}
		if raw == "" || strings.HasPrefix(raw, "data:") {
			return
		}
		iu, err := pageURL.Parse(raw)
		if err != nil || (iu.Scheme != "http" && iu.Scheme != "https") {
			return
		}
		p := download.Page{URL: iu.String()}
		if referer != "" {
			p.Header = http.Header{"Referer": {referer}}
		}
		ch.Pages = append(ch.Pages, p)
	})
	if len(ch.Pages) == 0 {
		if kind := episodeKind(doc); kind != "" {
			return nil, fmt.Errorf("%w: %s is %s, not a list of images; mangabot cannot download those yet", sites.ErrNoPages, pageURL, kind)
		}
		return nil, fmt.Errorf("%w: no images in the WEBTOON viewer (#_imageList img._images) at %s", sites.ErrLayout, pageURL)
	}

	info := doc.Find("div.subj_info").First()
	ch.Series = firstOf(
		info.Find("a.subj").First().AttrOr("title", ""),
		text(info.Find("a.subj").First()),
		metaContent(doc, "com-linewebtoon:episode:series_title"),
	)
	ep := doc.Find("h1.subj_episode").First()
	ch.Title = firstOf(ep.AttrOr("title", ""), text(ep), metaContent(doc, "og:title"))
	// The "#N" badge: the number the site shows.
	if n := strings.TrimPrefix(text(doc.Find("span._btnOpenEpisodeList, .paginate span.tx").First()), "#"); digits.MatchString(n) {
		ch.Number = n
	}
	ch.Credits = append(splitAuthors(firstOf(
		metaContent(doc, "com-linewebtoon:episode:author"),
		metaContent(doc, "com-linewebtoon:webtoon:author"),
	)), "WEBTOON")
	return ch, nil
}

// episodeKind names the kind of an episode that has no image list: motion
// episodes (animated layers, window.__motiontoonViewerState__) and other
// episodes of WEBTOON's OZ viewer (#ozViewer .oz-pages), which draws
// layers on a canvas. "" for other pages.
func episodeKind(doc *goquery.Document) string {
	motion := false
	doc.Find("script").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		t := s.Text()
		motion = strings.Contains(t, "__motiontoonViewerState__") || strings.Contains(t, "motiontoonParam")
		return !motion
	})
	switch {
	case motion:
		return "a motion episode (animated, shown by WEBTOON's OZ viewer)"
	case doc.Find("#ozViewer, div.oz-pages").Length() > 0:
		return "an OZ viewer episode (layers drawn by WEBTOON's OZ viewer)"
	}
	return ""
}

// list collects every episode of a series from all list pages, in
// ascending episode_no order (the site lists newest first), numbered by
// the "#N" each entry shows.
func (h *handler) list(ctx context.Context, env sites.Env, l link) ([]*sites.Chapter, error) {
	byNo := map[int]*sites.Chapter{}
	var series string
	var credits []string
	seen := map[int]bool{1: true}
	pending := []int{1}
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sort.Ints(pending)
		page := pending[0]
		pending = pending[1:]
		pu := h.listURL(l, page)
		doc, err := h.get(ctx, env, pu)
		if err != nil {
			return nil, err
		}
		if series == "" {
			series = firstOf(text(doc.Find("h1.subj").First()), metaContent(doc, "og:title"))
			credits = splitAuthors(metaContent(doc, "com-linewebtoon:webtoon:author"))
			if len(credits) == 0 {
				doc.Find(".author_area a.author, .author_area .author_name, a.author").Each(func(_ int, s *goquery.Selection) {
					credits = append(credits, splitAuthors(text(s))...)
				})
			}
		}
		doc.Find("#_listUl li._episodeItem").Each(func(_ int, li *goquery.Selection) {
			a := li.Find("a[href]").First()
			eu, err := h.rebase(pu, a.AttrOr("href", ""))
			if err != nil {
				return
			}
			el, ok := parseLink(eu)
			if !ok || el.episodeNo == "" || el.titleNo != l.titleNo {
				return
			}
			no := el.episodeNo
			n, err := strconv.Atoi(no)
			if err != nil || byNo[n] != nil {
				return
			}
			// Number: the "#N" shown in the list (selections apply to
			// it); episode_no when there is none.
			shown := no
			if tx := strings.TrimPrefix(text(li.Find("span.tx").First()), "#"); digits.MatchString(tx) {
				shown = tx
			}
			byNo[n] = &sites.Chapter{
				Site:      "webtoon",
				ID:        l.titleNo + "/" + no,
				Number:    shown,
				Title:     text(li.Find("span.subj span").First()),
				Language:  l.lang,
				SourceURL: eu.String(),
			}
		})
		doc.Find("div.paginate a[href]").Each(func(_ int, a *goquery.Selection) {
			href := a.AttrOr("href", "")
			if href == "" || strings.HasPrefix(href, "#") {
				return
			}
			nu, err := h.rebase(pu, href)
			if err != nil {
				return
			}
			q := nu.Query()
			if t := q.Get("title_no"); t != "" && t != l.titleNo {
				return
			}
			k, err := strconv.Atoi(q.Get("page"))
			if err != nil || k < 1 || seen[k] || len(seen) >= maxListPages {
				return
			}
			seen[k] = true
			pending = append(pending, k)
		})
	}
	if len(byNo) == 0 {
		return nil, fmt.Errorf("%w: no episodes in the WEBTOON list (#_listUl li._episodeItem) at %s", sites.ErrLayout, h.listURL(l, 1))
	}
	nos := make([]int, 0, len(byNo))
	for n := range byNo {
		nos = append(nos, n)
	}
	sort.Ints(nos)
	out := make([]*sites.Chapter, len(nos))
	for i, n := range nos {
		c := byNo[n]
		c.Series = series
		c.Credits = append(append([]string(nil), credits...), "WEBTOON")
		out[i] = c
	}
	return out, nil
}

func metaContent(doc *goquery.Document, prop string) string {
	sel := doc.Find(`meta[property="` + prop + `"]`)
	if sel.Length() == 0 {
		sel = doc.Find(`meta[name="` + prop + `"]`)
	}
	return strings.TrimSpace(sel.First().AttrOr("content", ""))
}

// text is the elements' text with runs of white space collapsed;
// <br> counts as a space ("The Lighthouse<br>Keeper").
func text(s *goquery.Selection) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && n.DataAtom == atom.Br:
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range s.Nodes {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			return s
		}
	}
	return ""
}

// splitAuthors splits "Writer / Artist" and "A, B" into names.
func splitAuthors(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ',' }) {
		part = strings.Join(strings.Fields(part), " ")
		if part != "" && !seen[strings.ToLower(part)] {
			seen[strings.ToLower(part)] = true
			out = append(out, part)
		}
	}
	return out
}

var _ sites.Limiter = (*handler)(nil)
