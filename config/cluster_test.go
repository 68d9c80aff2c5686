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
	s3 := "[cluster]\ns3_endpoint = \"http://minio:9000\"\ns3_bucket = \"b\"\ns3_access_key = \"k\"\n"
	for text, want := range map[string]string{
		"[cluster]\ns3_endpoint = \"minio:9000\"\n":                           "cluster.s3_endpoint",
		"[cluster]\ns3_endpoint = \"https://s3.example/bucket\"\n":            "cluster.s3_endpoint",
		"[cluster]\ns3_endpoint = \"http://minio:9000\"\n":                    "cluster.s3_bucket",
		"[cluster]\ns3_endpoint = \"http://minio:9000\"\ns3_bucket = \"b\"\n": "cluster.s3_access_key",
		s3:                           "cluster.s3_secret_key",
		"[output]\nfit = \"link\"\n": "output.fit",
	} {
		_, err := Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "; ") {
			t.Errorf("%q: %v, want one error naming %s", text, err, want)
		}
	}
	c, err = Parse(s3 + "s3_secret_key = \"sk\"\n[output]\nfit = \"link\"\n")
	if err != nil {
		t.Fatalf("S3 settings without public_url, fit = link: %v", err)
	}
	if d := c.Cluster; d.S3Region != "us-east-1" || d.S3Prefix != "mangabot/" || !d.S3PathStyle {
		t.Errorf("S3 defaults: %+v", d)
	}
	// The secret from the environment completes the settings.
	c = Default()
	err = c.parse(s3)
	if err == nil {
		err = c.applyEnv(func(k string) (string, bool) { return "from-env", k == "MANGABOT_CLUSTER_S3_SECRET_KEY" })
	}
	if err == nil {
		err = c.Validate()
	}
	if err != nil || c.Cluster.S3SecretKey != "from-env" {
		t.Errorf("secret from the environment: %v, %q", err, c.Cluster.S3SecretKey)
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
