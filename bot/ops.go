package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/store"
)

// ---- quotas ----

// quota enforces the per-user cooldown (in memory: a restart forgets it)
// and the daily page quota (in the store when there is one, so it
// survives restarts; else in memory).
type quota struct {
	daily int
	cd    time.Duration
	now   func() time.Time
	st    *store.Store // set by Run before any interaction

	mu   sync.Mutex
	last map[string]time.Time // user -> last accepted request
	mem  map[string]int       // day "\x00" user -> pages
}

func newQuota(c Config) *quota {
	return &quota{daily: c.DailyPages, cd: c.Cooldown, now: c.Now, last: map[string]time.Time{}, mem: map[string]int{}}
}

// cooldown returns how long the user must still wait (0: they may ask).
// It records nothing: accepted records an accepted request.
func (q *quota) cooldown(user string) time.Duration {
	if q.cd <= 0 {
		return 0
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if l, ok := q.last[user]; ok {
		if wait := l.Add(q.cd).Sub(now); wait > 0 {
			return wait
		}
	}
	return 0
}

// accepted starts the user's cooldown: a request of theirs was queued (or
// joined a job).
func (q *quota) accepted(user string) {
	if q.cd <= 0 {
		return
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.last) > 10000 {
		for u, l := range q.last {
			if now.Sub(l) >= q.cd {
				delete(q.last, u)
			}
		}
	}
	q.last[user] = now
}

// charge adds pages to the user's count of the day, or refuses (adding
// nothing) when that would go over the quota. It returns the day charged
// ("" when nothing was).
func (q *quota) charge(user string, pages int) (string, error) {
	if q.daily <= 0 || pages <= 0 {
		return "", nil
	}
	day := store.Day(q.now())
	total, err := q.add(user, day, pages)
	if err != nil {
		return "", fmt.Errorf("could not check your daily page quota; try again later")
	}
	if total > q.daily {
		_, _ = q.add(user, day, -pages)
		return "", fmt.Errorf("this request has %d pages. You have used %d of %d pages today; try again after 00:00 UTC.", pages, total-pages, q.daily)
	}
	return day, nil
}

// refund gives back pages charged on a day (pages of a job that were
// never fetched).
func (q *quota) refund(user, day string, pages int) {
	if day == "" || pages <= 0 {
		return
	}
	_, _ = q.add(user, day, -pages)
}

// add adds n pages to the user's count of day and returns the count.
func (q *quota) add(user, day string, n int) (int, error) {
	if q.st != nil {
		return q.st.AddPages(user, day, n)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if today := store.Day(q.now()); day == today {
		for old := range q.mem {
			if !strings.HasPrefix(old, today+"\x00") {
				delete(q.mem, old)
			}
		}
	}
	k := day + "\x00" + user
	if q.mem[k]+n <= 0 {
		delete(q.mem, k)
		return 0, nil
	}
	q.mem[k] += n
	return q.mem[k], nil
}

// fmtWait renders a wait rounded up to whole seconds.
func fmtWait(d time.Duration) string {
	return (d + time.Second - 1).Truncate(time.Second).String()
}

// ---- logging ----

var (
	// urlRe finds URLs in error texts.
	urlRe = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)
	// Interaction tokens travel in URL paths.
	tokenPathRe = regexp.MustCompile(`((?:webhooks|interactions)/[^/\s"]+/)[^/\s"?#]+`)
	// Link signatures (and any token-like query parameter).
	sigParamRe = regexp.MustCompile(`([?&](?:s|sig|signature|token)=)[^&\s"#]+`)
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

// stripURLs replaces every URL in s by its scheme and host.
func stripURLs(s string) string {
	return urlRe.ReplaceAllStringFunc(s, func(raw string) string {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host + "/…"
		}
		return "[url]"
	})
}

// publicErr is what a user may see of an error: failures of Discord calls
// and of the file system become a generic line (their texts carry URLs
// with interaction tokens, or paths); other errors (the site's, the
// link's) are shown on one line.
func publicErr(err error) string {
	var (
		re *discordgo.RESTError
		rl *discordgo.RateLimitError
		pe *fs.PathError
		le *os.LinkError
		se *os.SyscallError
		ue *url.Error
	)
	switch {
	case errors.As(err, &re), errors.As(err, &rl):
		return "a request to Discord failed; try again later"
	case errors.As(err, &ue) && isDiscordURL(ue.URL):
		return "a request to Discord failed; try again later"
	case errors.As(err, &pe), errors.As(err, &le), errors.As(err, &se):
		return "an internal error occurred; try again later"
	}
	msg := err.Error()
	if strings.Contains(msg, "/webhooks/") || strings.Contains(msg, "/interactions/") {
		return "a request to Discord failed; try again later"
	}
	return oneLine(msg)
}

func isDiscordURL(raw string) bool {
	return strings.Contains(raw, "/webhooks/") || strings.Contains(raw, "/interactions/") ||
		strings.Contains(raw, "discord.com") || strings.Contains(raw, "/api/v")
}

// discordgo logs through a package variable; it is pointed (once) at the
// redacting logger of the latest bot, so its messages (which name request
// URLs) are scrubbed too.
var (
	dgLog     atomic.Pointer[slog.Logger]
	dgLogOnce sync.Once
)

func routeDiscordgoLogs(l *slog.Logger) {
	dgLog.Store(l)
	dgLogOnce.Do(func() {
		discordgo.Logger = func(level, _ int, format string, a ...any) {
			l := dgLog.Load()
			if l == nil {
				return
			}
			lv := slog.LevelDebug
			switch level {
			case discordgo.LogError:
				lv = slog.LevelError
			case discordgo.LogWarning:
				lv = slog.LevelWarn
			case discordgo.LogInformational:
				lv = slog.LevelInfo
			}
			l.Log(context.Background(), lv, "discordgo: "+stripURLs(fmt.Sprintf(format, a...)))
		}
	})
}
