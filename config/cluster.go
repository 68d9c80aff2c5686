package config

import (
	"strings"
	"time"
)

// Cluster configures the NATS JetStream cluster (package cluster).
type Cluster struct {
	NATSURL      string   `toml:"nats_url" help:"NATS server URL(s), comma-separated (nats://host:4222); empty: no cluster. MANGABOT_CLUSTER_NATS_URL overrides."`
	CredsFile    string   `toml:"creds_file" help:"NATS credentials file (JWT + NKey seed) for servers with decentralised auth."`
	User         string   `toml:"user" help:"NATS user name (with password)."`
	Password     string   `toml:"password" help:"NATS password; prefer the MANGABOT_CLUSTER_PASSWORD environment variable."`
	TLSCA        string   `toml:"tls_ca" help:"PEM file of the CA that signed the NATS server's certificate; empty: the system roots."`
	TLSCert      string   `toml:"tls_cert" help:"PEM client certificate for NATS mutual TLS (with tls_key)."`
	TLSKey       string   `toml:"tls_key" help:"PEM private key of tls_cert."`
	Prefix       string   `toml:"prefix" help:"Name prefix of the cluster's subjects, stream, buckets and consumer, so several bots can share one NATS."`
	AckWait      Duration `toml:"ack_wait" help:"How long a job may go without a heartbeat from its worker before it is given to another worker."`
	MaxAttempts  int      `toml:"max_attempts" help:"Deliveries of one job to workers (a worker dying mid-job uses one) before it fails with a message to the user."`
	ResultTTL    Duration `toml:"result_ttl" help:"How long finished files wait in the object store for the gateway; they are deleted as soon as they are delivered."`
	SharedLimits bool     `toml:"shared_limits" help:"Workers share each host's rate and burst through a token bucket in NATS (true), instead of each worker applying them alone."`
}

func defaultCluster() Cluster {
	return Cluster{Prefix: "mangabot", AckWait: Duration{30 * time.Second}, MaxAttempts: 3,
		ResultTTL: Duration{time.Hour}, SharedLimits: true}
}

// validate checks the keys that matter once nats_url is set.
func (c Cluster) validate(bad func(key, format string, a ...any), positive func(key string, v int)) {
	if c.NATSURL != "" {
		positive("cluster.max_attempts", c.MaxAttempts)
		if c.AckWait.Duration < time.Second || c.ResultTTL.Duration < time.Second {
			bad("cluster.ack_wait", "ack_wait and result_ttl must be at least 1s")
		}
		if (c.TLSCert == "") != (c.TLSKey == "") {
			bad("cluster.tls_cert", "tls_cert and tls_key go together (mutual TLS needs both)")
		}
		if c.Prefix == "" || strings.ContainsAny(c.Prefix, ".*> \t") {
			bad("cluster.prefix", "must be a plain name (no dots, spaces or wildcards), got %q", c.Prefix)
		}
	}
}
