package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
)

// freeAddr is a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get answers GET http://addr+path: status and body (0 when unreachable).
func get(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A gateway and a worker, each with /metrics and /healthz: one job runs
// through them and each counts it in its mangabot_cluster_* metrics;
// when NATS goes, both /healthz fail and the connected gauges drop to 0;
// when it is back, both recover.
func TestClusterHealthAndMetrics(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Start(t, filepath.Join(dir, "nats"), -1)
	port := ns.Addr().(*net.TCPAddr).Port
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	site := newChapterSite(t, 2)
	gwAddr, wAddr := freeAddr(t), freeAddr(t)
	cluster := fmt.Sprintf("[cluster]\nnats_url = %q\nack_wait = \"2s\"\n", ns.ClientURL())
	gwCfg := botConfig(t, "health-token-0123456789", fd.URL, filepath.Join(dir, "gw"), cluster+"[bot]\nedit_interval = \"50ms\"\n")
	// botConfig turns the listener off (a second key would be a TOML
	// error): the gateway's comes from the environment.
	var gwLogs, wLogs testtool.LogBuffer
	startBotArgs(t, []string{"run", "-config", gwCfg, "-role", "gateway"}, &gwLogs, "MANGABOT_OUTPUT_METRICS_LISTEN="+gwAddr)
	wCfg := writeConfig(t, cluster+fmt.Sprintf("[output]\ndir = %q\nmetrics_listen = %q\n", filepath.Join(dir, "w"), wAddr))
	startRole(t, wCfg, &wLogs, "worker")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s\nworker log:\n%s", gwLogs.String(), wLogs.String())
		}
	})
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	tok := dispatchDownload(t, fd, "u1", site.URL+"/c/1")
	waitFake(t, fd, "the delivery", func() bool { return len(attachments(fd, []string{tok})) == 1 })

	waitFor := func(what, addr, path string, ok func(int, string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := get(addr, path)
			if ok(code, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s%s answered %d:\n%s", what, addr, path, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(lines ...string) func(int, string) bool {
		return func(code int, body string) bool {
			for _, l := range lines {
				if !strings.Contains(body, "\n"+l+"\n") {
					return false
				}
			}
			return code == http.StatusOK
		}
	}
	status := func(want int) func(int, string) bool { return func(code int, _ string) bool { return code == want } }
	waitFor("gateway metrics", gwAddr, "/metrics", has(`mangabot_cluster_info{role="gateway"} 1`, "mangabot_cluster_nats_connected 1",
		`mangabot_cluster_gateway_jobs_total{event="published"} 1`, `mangabot_cluster_gateway_jobs_total{event="delivered"} 1`,
		`mangabot_cluster_gateway_jobs_total{event="failed"} 0`, `mangabot_cluster_gateway_jobs_total{event="gave_up"} 0`))
	waitFor("worker metrics", wAddr, "/metrics", has(`mangabot_cluster_info{role="worker"} 1`, "mangabot_cluster_nats_connected 1",
		`mangabot_cluster_jobs_total{outcome="done"} 1`, `mangabot_cluster_jobs_total{outcome="requeued"} 0`))
	for _, addr := range []string{gwAddr, wAddr} {
		waitFor("healthy", addr, "/healthz", status(http.StatusOK))
	}

	ns.Shutdown()
	for _, addr := range []string{gwAddr, wAddr} {
		waitFor("unhealthy without NATS", addr, "/healthz", status(http.StatusServiceUnavailable))
		waitFor("disconnected gauge", addr, "/metrics", has("mangabot_cluster_nats_connected 0"))
	}
	natstest.Start(t, filepath.Join(dir, "nats"), port)
	for _, addr := range []string{gwAddr, wAddr} {
		waitFor("healthy again", addr, "/healthz", status(http.StatusOK))
	}
}
