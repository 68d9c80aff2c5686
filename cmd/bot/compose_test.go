package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
)

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Deploy      struct {
			Replicas int `yaml:"replicas"`
		} `yaml:"deploy"`
	} `yaml:"services"`
}

// No Docker engine runs the tests, so the compose file's mangabot
// services are run as it defines them (command and environment) by the
// real binary, against an embedded NATS and the fake Discord: a typo in a
// variable (silently ignored by the config) or a command the binary
// refuses fails here. Only what Docker provides is swapped: the NATS
// address, the volumes' paths, the ports, Discord's address, and the
// loopback reader allowed.
func TestComposeServices(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	nats, ok := cf.Services["nats"]
	if !ok || !slices.Contains(nats.Command, "-js") || !slices.Contains(nats.Command, "-sd") {
		t.Fatalf("the nats service must run JetStream on a store dir: %v", nats.Command)
	}
	known := config.EnvNames()
	natsURL := natstest.Start(t, "", -1).ClientURL()
	fd := fakediscord.New()
	t.Cleanup(fd.Close)
	site := newChapterSite(t, 2)
	close(site.release)
	dir := t.TempDir()
	interp := regexp.MustCompile(`\$\{[A-Z_]+(:?[?-][^}]*)?\}`)

	env := func(service string) []string {
		s := cf.Services[service]
		var out []string
		for k, v := range s.Environment {
			if k != "DISCORD_TOKEN" && !slices.Contains(known, k) {
				t.Errorf("service %s: %s is not a config key", service, k)
			}
			v = interp.ReplaceAllString(v, "compose-token-0123456789")
			switch {
			case k == "MANGABOT_CLUSTER_NATS_URL":
				if !strings.HasPrefix(v, "nats://nats:") {
					t.Errorf("service %s: %s=%s is not the nats service", service, k, v)
				}
				v = natsURL
			case strings.HasSuffix(k, "_LISTEN"):
				v = freeAddr(t)
			case strings.HasPrefix(v, "/"):
				v = filepath.Join(dir, service, v)
			}
			out = append(out, k+"="+v)
		}
		return append(out, "MANGABOT_DISCORD_API_URL="+fd.URL, "MANGABOT_DOWNLOAD_ALLOW_NETWORKS=127.0.0.0/8")
	}
	start := func(service string) *testtool.LogBuffer {
		s, ok := cf.Services[service]
		if !ok || len(s.Command) == 0 {
			t.Fatalf("no %s service with a command", service)
		}
		logs := &testtool.LogBuffer{}
		startBotArgs(t, s.Command, logs, env(service)...)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", service, logs.String())
			}
		})
		return logs
	}
	if n := cf.Services["worker"].Deploy.Replicas; n < 1 {
		t.Fatalf("worker replicas %d", n)
	}
	start("gateway")
	for range cf.Services["worker"].Deploy.Replicas {
		start("worker")
	}
	waitFake(t, fd, "commands registered", func() bool { return fd.Commands("global") != nil })
	tok := dispatchDownload(t, fd, "u1", site.URL+"/c/7")
	waitFake(t, fd, "the PDF delivered", func() bool { return len(attachments(fd, []string{tok})) == 1 })
	if got := attachments(fd, []string{tok}); got[0] != "Cluster Series - Ch.7.pdf" {
		t.Errorf("delivered %v", got)
	}
	// The token the compose file takes from the shell is the one used.
	if ids := fd.Identifies(); len(ids) == 0 || !strings.Contains(ids[0].Token, "compose-token-0123456789") {
		t.Errorf("identify: %+v", ids)
	}
}
