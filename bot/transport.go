package bot

import (
	"log/slog"
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

// logTransport logs Discord REST requests at debug level (through the
// redacting logger: the URLs of interaction routes carry tokens).
type logTransport struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t *logTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if t.log.Enabled(r.Context(), slog.LevelDebug) {
		if err != nil {
			t.log.Debug("discord request failed", "method", r.Method, "url", r.URL.String(), "err", err)
		} else {
			t.log.Debug("discord request", "method", r.Method, "url", r.URL.String(), "status", resp.StatusCode)
		}
	}
	return resp, err
}
