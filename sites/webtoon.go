package sites

// WEBTOON (www.webtoons.com): episode viewer pages and series episode lists.
//
// Markup relied on (as of the site's current layout):
//
//	viewer: <div id="_imageList" class="viewer_img _img_viewer_area">
//	          <img src=".../bg_transparency.png" data-url="https://webtoon-phinf.pstatic.net/..." class="_images">
//	        <div class="subj_info"><a class="subj">Series</a><h1 class="subj_episode">Episode title</h1></div>
//	        <span class="tx _btnOpenEpisodeList">#N</span>
//	        <meta property="com-linewebtoon:episode:author" content="A / B">
//	list:   <ul id="_listUl"><li class="_episodeItem" data-episode-no="N"><a href=".../viewer?title_no=T&episode_no=N">
//	          <span class="subj"><span>Episode title</span></span> ... <span class="tx">#N</span>
//	        <div class="paginate"><a href="/en/.../list?title_no=T&page=2">
//	        <h1 class="subj">Series</h1>, og:title, com-linewebtoon:webtoon:author

import (
	"context"
	"errors"
	"fmt"
	"io"
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
)

// WebtoonOptions are the [sites.webtoon] options. ImageHost is there for
// tests in spirit: the host name (no scheme, no port) the rate applies to;
// empty means webtoon-phinf.pstatic.net.
type WebtoonOptions struct {
	BaseURL   string  `toml:"base_url" help:"WEBTOON site root; links on its host are taken (on the default host also m.webtoons.com) and pages are fetched from it"`
	Referer   string  `toml:"referer" help:"Referer sent with page and image requests; the image host (webtoon-phinf.pstatic.net) refuses images without it"`
	Rate      float64 `toml:"rate" help:"requests per second to the image host (image_host)"`
	ImageHost string  `toml:"image_host" help:"host whose images get the rate limit"`
}

const (
	webtoonDefaultBase = "https://www.webtoons.com"
	webtoonImageHost   = "webtoon-phinf.pstatic.net"
	// webtoonCookie passes the GDPR/CCPA/COPPA consent and age gates.
	webtoonCookie = "needGDPR=false; needCCPA=false; needCOPPA=false; ageGatePass=true"
	// webtoonPlaceholder is the lazy-load placeholder in img src.
	webtoonPlaceholder = "bg_transparency"
	webtoonMaxPage     = 8 << 20 // bytes of one HTML page
	webtoonMaxListPage = 1000    // list pages followed at most
)

func init() {
	Register(Info{
		Name:        "webtoon",
		Description: "WEBTOON (www.webtoons.com) episodes and series",
		Patterns: []string{
			"https://www.webtoons.com/<lang>/<genre>/<series>/<episode>/viewer?title_no=N&episode_no=M",
			"https://www.webtoons.com/<lang>/<genre>/<series>/list?title_no=N",
		},
		Options: func() any {
			return &WebtoonOptions{
				BaseURL:   webtoonDefaultBase,
				Referer:   "https://www.webtoons.com/",
				Rate:      4,
				ImageHost: webtoonImageHost,
			}
		},
		New: func(opts any) (Handler, error) {
			o, ok := opts.(*WebtoonOptions)
			if !ok || o == nil {
				return nil, fmt.Errorf("webtoon: options of type %T, want *WebtoonOptions", opts)
			}
			return newWebtoon(*o)
		},
	})
}

type webtoon struct {
	opts  WebtoonOptions
	base  *url.URL
	hosts map[string]bool // hosts Match takes (lower case, with port)
}

func newWebtoon(o WebtoonOptions) (*webtoon, error) {
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
		o.ImageHost = webtoonImageHost
	}
	if _, err := netip.ParseAddr(o.ImageHost); err != nil && strings.ContainsAny(o.ImageHost, ":/@?#[] \t") {
		return nil, fmt.Errorf("image_host: not a host name (no scheme, port or path): %q", o.ImageHost)
	}
	h := &webtoon{opts: o, base: base, hosts: map[string]bool{strings.ToLower(base.Host): true}}
	if strings.EqualFold(base.Host, "www.webtoons.com") {
		h.hosts["m.webtoons.com"] = true
		h.hosts["webtoons.com"] = true
	}
	return h, nil
}

// Limits implements Limiter: the image host's rate.
func (h *webtoon) Limits() []HostLimit {
	burst := int(math.Ceil(h.opts.Rate))
	if burst < 1 {
		burst = 1
	}
	return []HostLimit{{Host: h.opts.ImageHost, Rate: h.opts.Rate, Burst: burst}}
}

// webtoonLink is a parsed viewer or list link.
type webtoonLink struct {
	segs      []string // path segments, the last being "viewer" or "list"
	lang      string
	titleNo   string
	episodeNo string // empty for a list link
}

var webtoonDigits = regexp.MustCompile(`^[0-9]+$`)

func parseWebtoonLink(u *url.URL) (webtoonLink, bool) {
	var segs []string
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	q := u.Query()
	l := webtoonLink{segs: segs, titleNo: q.Get("title_no")}
	if !webtoonDigits.MatchString(l.titleNo) {
		return l, false
	}
	switch {
	case len(segs) >= 5 && segs[len(segs)-1] == "viewer":
		l.episodeNo = q.Get("episode_no")
		if !webtoonDigits.MatchString(l.episodeNo) {
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
func (h *webtoon) Match(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || !h.hosts[strings.ToLower(u.Host)] {
		return false
	}
	_, ok := parseWebtoonLink(u)
	return ok
}

// Resolve turns an episode link into its chapter, or a series link into
// the selected episodes in reading order.
func (h *webtoon) Resolve(ctx context.Context, env Env, req Request) ([]*Chapter, error) {
	if req.URL == nil {
		return nil, fmt.Errorf("webtoon: no link")
	}
	l, ok := parseWebtoonLink(req.URL)
	if !ok {
		return nil, fmt.Errorf("%w: not a WEBTOON viewer or list link: %s", ErrUnsupported, req.URL)
	}
	if l.episodeNo != "" {
		ch, err := h.episode(ctx, env, h.viewerURL(l), nil)
		if err != nil {
			return nil, err
		}
		return []*Chapter{ch}, nil
	}
	sel, err := ParseSelection(req.Chapters)
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
	out := make([]*Chapter, 0, len(picked))
	for _, c := range picked {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u, err := url.Parse(c.SourceURL)
		if err != nil {
			return nil, fmt.Errorf("webtoon: episode link %q: %w", c.SourceURL, err)
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
func (h *webtoon) viewerURL(l webtoonLink) *url.URL {
	u := *h.base
	u.Path = "/" + strings.Join(l.segs, "/")
	u.RawQuery = "title_no=" + l.titleNo + "&episode_no=" + l.episodeNo
	return &u
}

// listURL is the canonical list link of page (1-based) on the base host.
func (h *webtoon) listURL(l webtoonLink, page int) *url.URL {
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
func (h *webtoon) rebase(ref *url.URL, href string) (*url.URL, error) {
	u, err := ref.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host, u.User, u.Fragment = h.base.Scheme, h.base.Host, nil, ""
	return u, nil
}

// get fetches an HTML page with the headers WEBTOON needs.
func (h *webtoon) get(ctx context.Context, env Env, u *url.URL) (*goquery.Document, error) {
	client := env.Client
	if client == nil {
		// Never fall back to http.DefaultClient: it lacks the address
		// guard and the rate limits, and honours HTTP_PROXY.
		return nil, errors.New("webtoon: no HTTP client in Env")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Cookie", webtoonCookie)
	if h.opts.Referer != "" {
		req.Header.Set("Referer", h.opts.Referer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webtoon: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%w: %s (HTTP %d)", ErrNotFound, u, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("webtoon: %s: HTTP %d", u, resp.StatusCode)
	}
	if resp.Request != nil && resp.Request.URL != nil &&
		strings.Contains(strings.ToLower(resp.Request.URL.Path), "/agegate") {
		return nil, fmt.Errorf("%w: WEBTOON redirected to its age check (%s)", ErrLayout, resp.Request.URL)
	}
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, webtoonMaxPage))
	if err != nil {
		return nil, fmt.Errorf("webtoon: %s: %w", u, err)
	}
	doc.Url = u
	if resp.Request != nil && resp.Request.URL != nil {
		doc.Url = resp.Request.URL
	}
	return doc, nil
}

// episode fetches a viewer page. from, when set, is the list entry the
// episode came from (its metadata fills gaps).
func (h *webtoon) episode(ctx context.Context, env Env, u *url.URL, from *Chapter) (*Chapter, error) {
	l, ok := parseWebtoonLink(u)
	if !ok || l.episodeNo == "" {
		return nil, fmt.Errorf("%w: not a WEBTOON viewer link: %s", ErrLayout, u)
	}
	doc, err := h.get(ctx, env, u)
	if err != nil {
		return nil, err
	}
	ch, err := parseWebtoonViewer(doc, u, h.opts.Referer)
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

// parseWebtoonViewer reads a viewer page: pages in order and metadata.
func parseWebtoonViewer(doc *goquery.Document, pageURL *url.URL, referer string) (*Chapter, error) {
	ch := &Chapter{Site: "webtoon"}
	doc.Find("#_imageList img._images").Each(func(_ int, img *goquery.Selection) {
		raw := strings.TrimSpace(img.AttrOr("data-url", ""))
		if raw == "" {
			raw = strings.TrimSpace(img.AttrOr("src", ""))
			if strings.Contains(raw, webtoonPlaceholder) {
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
		p := Page{URL: iu.String()}
		if referer != "" {
			p.Header = http.Header{"Referer": {referer}}
		}
		ch.Pages = append(ch.Pages, p)
	})
	if len(ch.Pages) == 0 {
		return nil, fmt.Errorf("%w: no images in the WEBTOON viewer (#_imageList img._images) at %s", ErrLayout, pageURL)
	}

	info := doc.Find("div.subj_info").First()
	ch.Series = webtoonFirst(
		info.Find("a.subj").First().AttrOr("title", ""),
		webtoonText(info.Find("a.subj").First()),
		webtoonMeta(doc, "com-linewebtoon:episode:series_title"),
	)
	ep := doc.Find("h1.subj_episode").First()
	ch.Title = webtoonFirst(ep.AttrOr("title", ""), webtoonText(ep), webtoonMeta(doc, "og:title"))
	// The "#N" badge: the number the site shows.
	if n := strings.TrimPrefix(webtoonText(doc.Find("span._btnOpenEpisodeList, .paginate span.tx").First()), "#"); webtoonDigits.MatchString(n) {
		ch.Number = n
	}
	ch.Credits = append(webtoonAuthors(webtoonFirst(
		webtoonMeta(doc, "com-linewebtoon:episode:author"),
		webtoonMeta(doc, "com-linewebtoon:webtoon:author"),
	)), "WEBTOON")
	return ch, nil
}

// list collects every episode of a series from all list pages, in
// ascending episode_no order (the site lists newest first), numbered by
// the "#N" each entry shows.
func (h *webtoon) list(ctx context.Context, env Env, l webtoonLink) ([]*Chapter, error) {
	byNo := map[int]*Chapter{}
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
			series = webtoonFirst(webtoonText(doc.Find("h1.subj").First()), webtoonMeta(doc, "og:title"))
			credits = webtoonAuthors(webtoonMeta(doc, "com-linewebtoon:webtoon:author"))
			if len(credits) == 0 {
				doc.Find(".author_area a.author, .author_area .author_name, a.author").Each(func(_ int, s *goquery.Selection) {
					credits = append(credits, webtoonAuthors(webtoonText(s))...)
				})
			}
		}
		doc.Find("#_listUl li._episodeItem").Each(func(_ int, li *goquery.Selection) {
			a := li.Find("a[href]").First()
			eu, err := h.rebase(pu, a.AttrOr("href", ""))
			if err != nil {
				return
			}
			el, ok := parseWebtoonLink(eu)
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
			if tx := strings.TrimPrefix(webtoonText(li.Find("span.tx").First()), "#"); webtoonDigits.MatchString(tx) {
				shown = tx
			}
			byNo[n] = &Chapter{
				Site:      "webtoon",
				ID:        l.titleNo + "/" + no,
				Number:    shown,
				Title:     webtoonText(li.Find("span.subj span").First()),
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
			if err != nil || k < 1 || seen[k] || len(seen) >= webtoonMaxListPage {
				return
			}
			seen[k] = true
			pending = append(pending, k)
		})
	}
	if len(byNo) == 0 {
		return nil, fmt.Errorf("%w: no episodes in the WEBTOON list (#_listUl li._episodeItem) at %s", ErrLayout, h.listURL(l, 1))
	}
	nos := make([]int, 0, len(byNo))
	for n := range byNo {
		nos = append(nos, n)
	}
	sort.Ints(nos)
	out := make([]*Chapter, len(nos))
	for i, n := range nos {
		c := byNo[n]
		c.Series = series
		c.Credits = append(append([]string(nil), credits...), "WEBTOON")
		out[i] = c
	}
	return out, nil
}

func webtoonMeta(doc *goquery.Document, prop string) string {
	sel := doc.Find(`meta[property="` + prop + `"]`)
	if sel.Length() == 0 {
		sel = doc.Find(`meta[name="` + prop + `"]`)
	}
	return strings.TrimSpace(sel.First().AttrOr("content", ""))
}

// webtoonText is the elements' text with runs of white space collapsed;
// <br> counts as a space ("The Lighthouse<br>Keeper").
func webtoonText(s *goquery.Selection) string {
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

func webtoonFirst(ss ...string) string {
	for _, s := range ss {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			return s
		}
	}
	return ""
}

// webtoonAuthors splits "Writer / Artist" and "A, B" into names.
func webtoonAuthors(s string) []string {
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

var _ Limiter = (*webtoon)(nil)
