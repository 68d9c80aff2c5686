package bot

import (
	"net/http"
	"net/url"
	"strings"
)

// rewriteTransport sends requests for https://discord.com (and its
// subdomains' API paths) to base, keeping path and query. It leaves other
// hosts alone.
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "discord.com" || strings.HasSuffix(r.URL.Host, ".discord.com") {
		r = r.Clone(r.Context())
		r.URL.Scheme = t.base.Scheme
		r.URL.Host = t.base.Host
		if p := strings.TrimSuffix(t.base.Path, "/"); p != "" {
			r.URL.Path = p + r.URL.Path
			r.URL.RawPath = ""
		}
		r.Host = t.base.Host
	}
	return t.next.RoundTrip(r)
}

// newTransport returns the transport for Discord requests: rewritten to
// apiURL unless it is Discord itself.
func newTransport(apiURL string) (http.RoundTripper, error) {
	u, err := url.Parse(apiURL)
	if err != nil {
		return nil, err
	}
	next := http.DefaultTransport.(*http.Transport).Clone()
	if u.Host == "discord.com" && u.Scheme == "https" && strings.Trim(u.Path, "/") == "" {
		return next, nil
	}
	return &rewriteTransport{base: u, next: next}, nil
}
