package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/s3test"
	"github.com/mangabot/mangabot/internal/testtool"
)

// The real binary as a gateway and a worker sharing NATS and an S3 bucket
// (fake, signature-checking), with no public_url: the worker's result goes
// through the bucket, and a result over the upload limit reaches Discord
// as a presigned link into it, which plain HTTP downloads. The secret key
// (given by environment) and the link's signature stay out of the logs;
// the result object leaves the bucket once delivered.
func TestGatewayS3Links(t *testing.T) {
	natsURL := natstest.Start(t, "", -1).ClientURL()
	srv := s3test.Start(t)
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	site := newChapterSite(t, 12)
	dir := t.TempDir()
	common := fmt.Sprintf(`rate = 1000.0
burst = 100
[discord]
token = "s3-bot-token-0123456789"
api_url = %q
guild_ids = ["g1"]
[cluster]
nats_url = %q
s3_endpoint = %q
s3_bucket = %q
s3_access_key = %q
[log]
level = "debug"
`, fd.URL, natsURL, srv.URL, srv.Bucket, srv.AccessKey)
	secret := "MANGABOT_CLUSTER_S3_SECRET_KEY=" + srv.SecretKey
	gwCfg := writeConfig(t, common+fmt.Sprintf("[output]\ndir = %q\nmetrics_listen = \"\"\n[storage]\npath = %q\n",
		filepath.Join(dir, "gw"), filepath.Join(dir, "gw", "mangabot.db")))
	wCfg := writeConfig(t, common+fmt.Sprintf("[output]\ndir = %q\nmetrics_listen = \"\"\n", filepath.Join(dir, "w")))
	var gwLogs, wLogs testtool.LogBuffer
	startBotArgs(t, []string{"run", "-config", gwCfg, "-role", "gateway"}, &gwLogs, secret)
	startBotArgs(t, []string{"run", "-config", wCfg, "-role", "worker"}, &wLogs, secret)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s\nworker log:\n%s", gwLogs.String(), wLogs.String())
		}
	})
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	close(site.release)
	const limit = 8 << 10
	_, tok, err := fd.Dispatch(fakediscord.Interaction{Type: 2, GuildID: "g1", ChannelID: "c1", UserID: "u1", AttachmentSizeLimit: limit,
		Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1,
			"options": []map[string]any{{"name": "download", "type": 1, "options": []map[string]any{
				{"name": "url", "type": 3, "value": site.URL + "/c/7"}, {"name": "fit", "type": 3, "value": "link"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFake(t, fd, "the link", func() bool { return strings.Contains(embedText(fd.Original(tok)), srv.URL) })
	m := regexp.MustCompile(`\((http://[^)\s]+)\)`).FindStringSubmatch(embedText(fd.Original(tok)))
	if m == nil {
		t.Fatalf("no link in %s", embedText(fd.Original(tok)))
	}
	link := strings.ReplaceAll(m[1], `\u0026`, "&") // embeds are raw JSON
	resp, body := srv.GetLink(t, link, "mangabot/")
	if resp.StatusCode != 200 || len(body) <= limit || string(body[:5]) != "%PDF-" || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("GET link: %s, %d bytes, %q", resp.Status, len(body), resp.Header.Get("Content-Type"))
	}
	waitFake(t, fd, "the result to leave the bucket", func() bool {
		keys := srv.Keys(t)
		return len(keys) == 1 && strings.HasPrefix(keys[0], "mangabot/links/")
	})
	sig := regexp.MustCompile(`X-Amz-Signature=([0-9a-f]+)`).FindStringSubmatch(link)
	logs := gwLogs.String() + wLogs.String()
	for _, s := range []string{srv.SecretKey, sig[1]} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
	if !strings.Contains(gwLogs.String(), "link published") || srv.Refused() != 0 {
		t.Errorf("link published not logged, or %d requests refused", srv.Refused())
	}
}
