package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/testtool"
)

// A whole job logged at debug level (Discord request URLs included) with
// a link delivery: no token, no link signature, and job ids on job lines.
func TestLogsHoldNoSecrets(t *testing.T) {
	var sink testtool.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	addr := freeAddr(t)
	h := startWith(t, func(c *Config) {
		c.Listen = addr
		c.PublicURL = "http://" + addr
		c.LinkSecret = "link-secret-key"
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.MaxParts = 1
	}, startOptions{logger: logger})
	const limit = 30 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.download("u1", site.URL+"/chapter/logged?n=3", limit)
	id := h.jobID(tok)
	h.waitFor("link", h.originalHas(tok, "/dl/"))
	h.waitIdle()
	m := regexp.MustCompile(`\((http://[^)\s]+/dl/[^)\s]+)\)`).FindStringSubmatch(statusText(h.fd.Original(tok)))
	if m == nil {
		t.Fatal("no link")
	}
	u, _ := url.Parse(m[1])
	sig := u.Query().Get("s")
	if len(sig) < 32 {
		t.Fatalf("no signature in %s", m[1])
	}
	logs := sink.String()
	for _, secret := range []string{"test-token", tok, sig, "link-secret-key"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	var published, requests, jobLines int
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		switch {
		case msg == "link published":
			published++
			if !strings.Contains(rec["url"].(string), "s=[redacted]") {
				t.Errorf("link logged as %v", rec["url"])
			}
		case msg == "discord request" && strings.Contains(rec["url"].(string), "/webhooks/"):
			requests++
		}
		if strings.HasPrefix(msg, "job ") {
			jobLines++
			if rec["job"] != id {
				t.Errorf("job line without the job id: %s", line)
			}
		}
	}
	if published == 0 || requests == 0 || jobLines < 3 {
		t.Fatalf("expected lines missing (published %d, webhook requests %d, job lines %d):\n%s", published, requests, jobLines, logs)
	}
}

// redactedLog logs through a redactor for the given secrets and returns
// what reached the real handler.
func redactedLog(secrets []string, log func(*slog.Logger)) string {
	var buf strings.Builder
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	log(slog.New(newRedactor(h, secrets...)))
	return buf.String()
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestRedactorScrubsTokenForms(t *testing.T) {
	const botToken = "MTAwMDAw.bot-token-value.xyz"
	const linkKey = "link-key-value"
	const itok = "aW50ZXJhY3Rpb24tdG9rZW4"
	for name, log := range map[string]func(*slog.Logger){
		"bot token in message": func(l *slog.Logger) { l.Info("using Bot " + botToken) },
		"bot token in attr":    func(l *slog.Logger) { l.Info("x", "auth", "Bot "+botToken) },
		"link key in attr":     func(l *slog.Logger) { l.Info("x", "key", linkKey) },
		"webhook token in URL": func(l *slog.Logger) {
			l.Debug("req", "url", "https://discord.com/api/v10/webhooks/123/"+itok+"/messages/@original")
		},
		"interaction token in URL": func(l *slog.Logger) {
			l.Debug("req", "url", "https://discord.com/api/v10/interactions/456/"+itok+"/callback")
		},
		"token in message URL": func(l *slog.Logger) {
			l.Warn("POST https://discord.com/api/v10/webhooks/123/" + itok + "?wait=true failed")
		},
		"link signature": func(l *slog.Logger) {
			l.Info("link", "url", "https://bot.example/dl/ab/x.pdf?e=1&s="+itok)
		},
		"error with URL": func(l *slog.Logger) {
			l.Warn("x", "err", fmt.Errorf("Post %q: EOF", "https://discord.com/api/v10/webhooks/1/"+itok))
		},
		"stringer": func(l *slog.Logger) { l.Info("x", "v", stringer("token "+botToken)) },
		"other value": func(l *slog.Logger) {
			l.Info("x", "v", []string{botToken})
		},
		"group": func(l *slog.Logger) {
			l.Info("x", slog.Group("req", "url", "https://discord.com/api/webhooks/1/"+itok))
		},
		"WithAttrs": func(l *slog.Logger) { l.With("token", botToken).Info("x") },
		"WithGroup": func(l *slog.Logger) { l.WithGroup("g").Info("x", "token", linkKey) },
	} {
		out := redactedLog([]string{botToken, linkKey}, log)
		for _, secret := range []string{botToken, linkKey, itok} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: secret in log: %s", name, out)
			}
		}
		if !strings.Contains(out, "[redacted]") && !strings.Contains(out, "/…") {
			t.Errorf("%s: nothing marked as removed: %s", name, out)
		}
	}
}

func TestRedactorKeepsTheRest(t *testing.T) {
	out := redactedLog([]string{"ab", "secret-value"}, func(l *slog.Logger) {
		l.Info("job done", "job", "abc123", "pages", 12, "url", "https://site.example/chapter/1?n=2",
			"err", errors.New("fetch https://site.example/img/1.jpg?token=t0k: 404"))
	})
	// Secrets under 4 characters are not scrubbed (they would eat ordinary
	// text); non-secret values, numbers and a site's path stay readable.
	for _, want := range []string{`"job":"abc123"`, `"pages":12`, `"url":"https://site.example/chapter/1?n=2"`,
		`"err":"fetch https://site.example/… 404"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in %s", want, out)
		}
	}
}
