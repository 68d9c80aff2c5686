package browser

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
)

// Result is what a rendered page shows once it settled.
type Result struct {
	URL       string   // the page's final URL (after redirects and reloads)
	Images    []string // every <img> URL, in document order, each once
	HTML      string   // the rendered DOM, for a site's own selectors
	UserAgent string   // the User-Agent the page saw; send it with the images
	// Cookies the browser would send to the page or to any of Images.
	Cookies []*http.Cookie
	// Blocked lists the requests the address guard refused.
	Blocked []Refusal
	// Settled is false when the timeout came before the page went quiet:
	// Images may then be incomplete.
	Settled bool
}

// Refusal is one request the browser was not allowed to make.
type Refusal struct {
	URL    string
	Reason string
}

func (r Refusal) String() string { return fmt.Sprintf("%s: %s", r.URL, r.Reason) }

// Jar returns a cookie jar holding Cookies, with their domains, paths and
// Secure flags, for an http.Client that fetches the images.
func (r *Result) Jar() http.CookieJar {
	jar, _ := cookiejar.New(nil) // error only with options
	for _, c := range r.Cookies {
		host := strings.TrimPrefix(c.Domain, ".")
		scheme := "http"
		if c.Secure {
			scheme = "https"
		}
		jc := *c
		if !strings.HasPrefix(c.Domain, ".") {
			jc.Domain = "" // a host-only cookie
		}
		jar.SetCookies(&url.URL{Scheme: scheme, Host: host, Path: c.Path}, []*http.Cookie{&jc})
	}
	return jar
}

// CookieHeader returns the Cookie header the browser would send to rawURL
// ("" when none).
func (r *Result) CookieHeader(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	var parts []string
	for _, c := range r.Jar().Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func httpCookies(cs []*network.Cookie) []*http.Cookie {
	out := make([]*http.Cookie, 0, len(cs))
	for _, c := range cs {
		hc := &http.Cookie{
			Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
			Secure: c.Secure, HttpOnly: c.HTTPOnly,
		}
		if !c.Session && c.Expires > 0 {
			hc.Expires = time.Unix(int64(c.Expires), 0)
		}
		out = append(out, hc)
	}
	return out
}
