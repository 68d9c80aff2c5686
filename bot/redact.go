package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

var (
	// urlRe finds URLs in error texts.
	urlRe = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)
	// Interaction tokens travel in URL paths.
	tokenPathRe = regexp.MustCompile(`((?:webhooks|interactions)/[^/\s"]+/)[^/\s"?#]+`)
	// Link signatures (and any token-like query parameter), S3 presigned
	// URLs' included.
	sigParamRe = regexp.MustCompile(`([?&](?:s|sig|signature|token|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"#]+`)
)

// redactor is a slog.Handler that scrubs secrets from messages and
// attribute values before they reach the real handler: the given secrets
// (bot token, link key), interaction tokens in Discord URLs and signatures
// of links.
type redactor struct {
	h       slog.Handler
	secrets []string
}

func newRedactor(h slog.Handler, secrets ...string) *redactor {
	r := &redactor{h: h}
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

func (r *redactor) scrub(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	s = tokenPathRe.ReplaceAllString(s, "${1}[redacted]")
	return sigParamRe.ReplaceAllString(s, "${1}[redacted]")
}

func (r *redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.scrub(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		for i, x := range as {
			out[i] = r.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			// Errors of HTTP calls name their URL (Discord's carry
			// interaction tokens): only scheme and host are kept.
			s = stripURLs(x.Error())
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		return slog.String(a.Key, r.scrub(s))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (r *redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r *redactor) Handle(ctx context.Context, rec slog.Record) error {
	n := slog.NewRecord(rec.Time, rec.Level, r.scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		n.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, n)
}

func (r *redactor) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = r.attr(a)
	}
	return &redactor{h: r.h.WithAttrs(out), secrets: r.secrets}
}

func (r *redactor) WithGroup(name string) slog.Handler {
	return &redactor{h: r.h.WithGroup(name), secrets: r.secrets}
}

// stripURLs replaces every URL in s by its scheme and host.
func stripURLs(s string) string {
	return urlRe.ReplaceAllStringFunc(s, func(raw string) string {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host + "/…"
		}
		return "[url]"
	})
}
