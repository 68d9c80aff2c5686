package bot

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
)

// Uploads die with the connection: the client's error (a *url.Error) names
// the request URL, interaction token included. Users see a generic line,
// the status shows a failure (not "Done"), and neither what Discord was
// sent nor the log holds the token.
func TestDiscordErrorsHideToken(t *testing.T) {
	var sink testtool.LogBuffer
	logger := slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := startWith(t, nil, startOptions{logger: logger})
	for _, path := range []string{"/messages/@original", "/webhooks/"} {
		h.fd.Inject(fakediscord.Fault{PathContains: path, WithFiles: true, Drop: true, Count: 1000})
	}
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/leak?n=2", 0)
	h.waitFor("failed status", h.originalHas(tok, "Failed"))
	h.waitIdle()
	dropped := 0
	for _, r := range h.fd.Requests() {
		if r.Status == 0 && strings.Contains(r.Path, tok) {
			dropped++
		}
		if bytes.Contains(r.Body, []byte(tok)) {
			t.Errorf("%s %s sent the token: %s", r.Method, r.Path, r.Body)
		}
	}
	if dropped == 0 {
		t.Fatal("no upload was dropped; the test tests nothing")
	}
	for _, m := range h.fd.ChannelMessages() {
		if strings.Contains(m.Content+fmt.Sprint(m.Embeds), tok) {
			t.Errorf("channel message holds the token: %+v", m)
		}
	}
	if strings.Contains(sink.String(), tok) {
		t.Errorf("log holds the token:\n%s", sink.String())
	}
	text := statusText(h.fd.Original(tok))
	if strings.Contains(text, "Done") || !strings.Contains(text, "upload to Discord failed") {
		t.Fatalf("status: %s", text)
	}
}
