package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
)

// A gateway started with -shard-count auto asks Discord for the count,
// identifies as its shard of that many and logs the count.
func TestGatewayShardAuto(t *testing.T) {
	natsURL := natstest.Start(t, "", -1).ClientURL()
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	fd.SetRecommendedShards(4)
	cfg := botConfig(t, "shard-token-0123456789", fd.URL, t.TempDir(), fmt.Sprintf("[cluster]\nnats_url = %q\n", natsURL))
	var logs testtool.LogBuffer
	startBotArgs(t, []string{"run", "-config", cfg, "-role", "gateway", "-shard-id", "2", "-shard-count", "auto"}, &logs)
	waitFake(t, fd, "identify", func() bool { return fd.Identified() > 0 })
	if ids := fd.Identifies(); len(ids[0].Shard) != 2 || ids[0].Shard[0] != 2 || ids[0].Shard[1] != 4 {
		t.Fatalf("identify shard %v, want [2 4]", ids[0].Shard)
	}
	if l := logs.String(); !strings.Contains(l, "shard_count=4 count_from=auto") {
		t.Errorf("the shard count is not logged:\n%s", l)
	}
	asked := 0
	for _, r := range fd.Requests() {
		if r.Method == "GET" && r.Path == "/gateway/bot" {
			asked++
		}
	}
	if asked == 0 {
		t.Error("Discord was not asked for the shard count")
	}
}

// A shard id that Discord's recommended count does not reach, a count
// Discord will not tell and a count that is no number are refused with
// one line, before the bot connects.
func TestShardAutoRefused(t *testing.T) {
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	fd.SetRecommendedShards(2)
	dir := t.TempDir()
	cfg := botConfig(t, "shard-token-0123456789", fd.URL, dir, "")
	for _, c := range []struct {
		args  []string
		fault bool
		code  int
		want  string
	}{
		{[]string{"-shard-id", "2", "-shard-count", "auto"}, false, 1, "bot: -shard-id 2 must be below -shard-count 2 (auto: Discord's recommendation)\n"},
		{[]string{"-shard-id", "-1", "-shard-count", "auto"}, false, 1, "bot: -shard-id -1 must not be negative\n"},
		{[]string{"-shard-count", "auto"}, true, 1, "bot: ask discord for the shard count: HTTP 401 Unauthorized"},
		{[]string{"-shard-count", "many"}, false, 2, `invalid value "many" for flag -shard-count: want a number of shards or auto`},
	} {
		if c.fault {
			fd.Inject(fakediscord.Fault{Method: "GET", PathContains: "/gateway/bot", Count: 1, Status: 401, Body: `{"message": "401: Unauthorized", "code": 0}`})
		}
		r := run(t, context.Background(), append([]string{"run", "-config", cfg}, c.args...)...)
		if r.code != c.code || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
		if c.code == 1 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: more than one line: %q", c.args, r.stderr)
		}
		if strings.Contains(r.stderr, "shard-token") {
			t.Errorf("%v: the token reached stderr", c.args)
		}
	}
	if fd.Identified() != 0 {
		t.Error("a refused bot connected to the gateway")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("a refused bot wrote %v", m)
	}
}
