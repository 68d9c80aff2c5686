package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
)

// followConfig points the mangadex handler at a loopback API and the store
// into a temp dir.
func followConfig(t *testing.T, api *mdtest.API) string {
	store := filepath.Join(t.TempDir(), "bot.db")
	return writeConfig(t, "[storage]\npath = \""+store+"\"\n"+api.Config())
}

func TestFollowAddCheckListRemove(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	followAddCheckListRemove(t, api, followConfig(t, api))
}

// With [cluster] nats_url the shell's follows are in the cluster's store
// (NATS KV, shared with the gateways): the same commands work across
// invocations, and no [storage] file is made.
func TestFollowInClusterStore(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	db := filepath.Join(t.TempDir(), "bot.db")
	cfg := writeConfig(t, "[storage]\npath = \""+db+"\"\n[cluster]\nnats_url = \""+natstest.Start(t, "", -1).ClientURL()+"\"\n"+api.Config())
	followAddCheckListRemove(t, api, cfg)
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a [storage] file was made: %v", err)
	}
}

func followAddCheckListRemove(t *testing.T, api *mdtest.API, cfg string) {
	ctx := context.Background()
	series := mdtest.TitleURL("https://mangadex.org")
	must := func(r result) result {
		t.Helper()
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		return r
	}

	r := must(run(t, ctx, "follow", "add", "-config", cfg, series))
	if r.stdout != "following The Library Beyond the Clouds\t"+series+"\n" {
		t.Errorf("add printed %q", r.stdout)
	}
	if r := run(t, ctx, "follow", "add", "-config", cfg, series); r.code != 1 || !strings.Contains(r.stderr, "already followed") {
		t.Errorf("second add: exit %d %q", r.code, r.stderr)
	}
	r = must(run(t, ctx, "follow", "list", "-config", cfg))
	if r.stdout != "The Library Beyond the Clouds\t"+series+"\n" {
		t.Errorf("list printed %q", r.stdout)
	}

	// The baseline: nothing is new.
	if r := must(run(t, ctx, "follow", "check", "-config", cfg, "-once")); r.stdout != "" {
		t.Errorf("check after the baseline printed %q", r.stdout)
	}
	// A chapter comes out: printed once, then never again.
	id := api.Add("7", time.Now().Add(-time.Minute))
	r = must(run(t, ctx, "follow", "check", "-config", cfg, "-once"))
	want := "The Library Beyond the Clouds — Ch. 7: Chapter 7\thttps://mangadex.org/chapter/" + id + "\n"
	if r.stdout != want {
		t.Errorf("check printed %q, want %q", r.stdout, want)
	}
	if r := must(run(t, ctx, "follow", "check", "-config", cfg, "-once")); r.stdout != "" {
		t.Errorf("second check printed %q", r.stdout)
	}

	// Removed: a check asks the site nothing more.
	must(run(t, ctx, "follow", "remove", "-config", cfg, series))
	before := api.Hits("/manga/")
	must(run(t, ctx, "follow", "check", "-config", cfg, "-once"))
	if r := must(run(t, ctx, "follow", "list", "-config", cfg)); r.stdout != "" {
		t.Errorf("list after remove: %q", r.stdout)
	}
	if n := api.Hits("/manga/"); n != before {
		t.Errorf("%d requests after remove", n-before)
	}
}

func TestFollowBadInput(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	cfg := followConfig(t, api)
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"follow", "add", "-config", cfg, "not a link"}, 1, "not a link"},
		{[]string{"follow", "add", "-config", cfg, "https://mangadex.org/chapter/a1b2c3d4-0000-4000-8000-000000000101"}, 1, "follow a MangaDex title link"},
		{[]string{"follow", "add", "-config", cfg, "https://mangadex.org/title/00000000-0000-4000-8000-000000000000"}, 1, "not found"},
		{[]string{"follow", "remove", "-config", cfg, mdtest.TitleURL("https://mangadex.org")}, 1, "not followed"},
		{[]string{"follow", "frob"}, 2, "unknown follow command"},
		{[]string{"follow", "add", "-config", cfg}, 2, "usage"},
	} {
		r := run(t, ctx, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args[1:], r.code, r.stdout, r.stderr, c.code, c.want)
		}
		if c.code == 1 && strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: not one line: %q", c.args[1:], r.stderr)
		}
	}
}

// The bot is killed (SIGKILL) between finding a new chapter and marking
// it delivered: before its post ("pending") and after it ("delivered").
// Restarted, it posts the chapter exactly once: the pending one is
// posted, the posted one is found in the channel and not posted again.
func TestFollowKilledBetweenFindingAndPosting(t *testing.T) {
	for _, stage := range []string{"pending", "delivered"} {
		t.Run(stage, func(t *testing.T) {
			fd := fakediscord.New()
			t.Cleanup(fd.Close)
			api := mdtest.New(t, mdtest.Options{})
			dir := t.TempDir()
			cfg := botConfig(t, "follow-crash-token", fd.URL, dir, `[follows]
interval = "1s"
jitter = "0s"
max_backoff = "2s"
[log]
level = "debug"
`+api.Config())

			var logs testtool.LogBuffer
			bot1 := startBot(t, cfg, &logs, "MANGABOT_TEST_FOLLOW_HOLD="+stage)
			waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
			_, tok, err := fd.Dispatch(fakediscord.Interaction{Type: 2, GuildID: "g1", ChannelID: "c1", UserID: "u1", Permissions: 1 << 4,
				Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1, "options": []map[string]any{{"name": "follow", "type": 1,
					"options": []map[string]any{{"name": "url", "type": 3, "value": mdtest.TitleURL("https://mangadex.org")}}}}}})
			if err != nil {
				t.Fatal(err)
			}
			waitFake(t, fd, "follow answer", func() bool { return strings.Contains(embedText(fd.Original(tok)), "Following") })

			api.Add("7", time.Now().Add(-time.Minute))
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(logs.String(), "follow hold") {
				if time.Now().After(deadline) {
					t.Fatalf("no hold; logs:\n%s", logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			posts := func() int {
				n := 0
				for _, r := range fd.Requests() {
					if r.Method == "POST" && r.Path == "/channels/c1/messages" {
						n++
					}
				}
				return n
			}
			wantPosts := map[string]int{"pending": 0, "delivered": 1}[stage]
			if n := posts(); n != wantPosts {
				t.Fatalf("%d posts before the kill, want %d", n, wantPosts)
			}
			bot1.Process.Signal(syscall.SIGKILL)
			bot1.Wait()

			bot2 := startBot(t, cfg, &logs)
			waitFake(t, fd, "announcement", func() bool { return len(fd.ChannelMessages()) == 1 })
			// Rounds go by; still one announcement, and after the
			// "delivered" kill not even a second post.
			feed := func() int { return api.Hits("/manga/" + mdtest.MangaID + "/feed") }
			after := feed()
			for feed() < after+2 {
				if time.Now().After(deadline) {
					t.Fatal("no rounds after the restart")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := len(fd.ChannelMessages()); n != 1 {
				t.Errorf("%d announcements, want 1", n)
			}
			if n := posts(); n != 1 {
				t.Errorf("%d posts in all, want 1", n)
			}
			bot2.Process.Signal(syscall.SIGTERM)
			bot2.Wait()
			if strings.Contains(logs.String(), "follow-crash-token") {
				t.Error("token in the log")
			}
		})
	}
}
