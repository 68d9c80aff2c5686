package config

import (
	"strings"
	"testing"
)

func TestClusterKeys(t *testing.T) {
	c, err := Parse("[cluster]\nnats_url = \"nats://n:4222\"\nack_wait = \"5s\"\nmax_attempts = 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.NATSURL != "nats://n:4222" || c.Cluster.AckWait.Seconds() != 5 || c.Cluster.MaxAttempts != 2 || !c.Cluster.SharedLimits || c.Cluster.Prefix != "mangabot" {
		t.Fatalf("got %+v", c.Cluster)
	}
	for text, want := range map[string]string{
		"[cluster]\nnats_url = \"nats://n\"\nprefix = \"a.b\"\n":     "cluster.prefix",
		"[cluster]\nnats_url = \"nats://n\"\nmax_attempts = 0\n":     "cluster.max_attempts",
		"[cluster]\nnats_url = \"nats://n\"\nack_wait = \"100ms\"\n": "cluster.ack_wait",
		"[cluster]\nnats_url = \"nats://n\"\ntls_cert = \"c.pem\"\n": "cluster.tls_cert",
	} {
		if _, err := Parse(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", text, err, want)
		}
	}
	// Without nats_url the cluster keys are not checked: nothing changes.
	if _, err := Parse("[cluster]\nmax_attempts = 0\n"); err != nil {
		t.Errorf("cluster keys checked without nats_url: %v", err)
	}
	var env = map[string]string{"MANGABOT_CLUSTER_NATS_URL": "nats://e:4222", "MANGABOT_CLUSTER_PASSWORD": "pw"}
	c = Default()
	if err := c.applyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Cluster.NATSURL != "nats://e:4222" || c.Cluster.Password != "pw" {
		t.Errorf("env not applied: %+v", c.Cluster)
	}
}
