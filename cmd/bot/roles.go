package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
)

// roleFlags are bot run's cluster flags.
type roleFlags struct {
	role    string
	shardID int
	shards  shardCount // -shard-count (shards.go)
}

func (r *roleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.role, "role", "", "cluster role: gateway (Discord, publishes jobs) or worker (runs them); needs [cluster] nats_url. Empty: everything in this process")
	fs.IntVar(&r.shardID, "shard-id", 0, "Discord gateway shard of this process (gateway role or single process)")
	fs.Var(&r.shards, "shard-count", "number of Discord gateway shards, or auto (Discord's recommendation); 0: no sharding")
}

// check says what is wrong with the flags for this config.
func (r *roleFlags) check(cfg *config.Config) error {
	switch r.role {
	case "":
		if cfg.Cluster.NATSURL != "" {
			return errors.New("[cluster] nats_url is set: run with -role gateway or -role worker")
		}
	case "gateway", "worker":
		if cfg.Cluster.NATSURL == "" {
			return fmt.Errorf("-role %s needs [cluster] nats_url (or MANGABOT_CLUSTER_NATS_URL)", r.role)
		}
	default:
		return fmt.Errorf("unknown -role %q (use gateway or worker)", r.role)
	}
	if r.shards.auto {
		if r.shardID < 0 {
			return fmt.Errorf("-shard-id %d must not be negative", r.shardID)
		}
		return nil // checked against the count from Discord (resolveShards)
	}
	if n := r.shards.n; r.shardID < 0 || (n > 0 && r.shardID >= n) || (n == 0 && r.shardID != 0) {
		return fmt.Errorf("-shard-id %d must be below -shard-count %d", r.shardID, n)
	}
	return nil
}

// connectCluster joins the cluster as role.
func connectCluster(ctx context.Context, cfg *config.Config, role string, logger *slog.Logger) (*cluster.Conn, error) {
	o := cluster.OptionsFrom(cfg.Cluster)
	host, _ := os.Hostname()
	o.Name, o.Logger = "mangabot "+role+" "+host, logger
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return cluster.Connect(cctx, o)
}

// runWorker is bot run -role worker: jobs from NATS through this
// process's pipeline, until ctx ends.
func runWorker(ctx context.Context, cfg *config.Config, stderr io.Writer) int {
	logger := newLogger(cfg.Log, stderr)
	conn, err := connectCluster(ctx, cfg, "worker", logger)
	if err != nil {
		return fail(stderr, err)
	}
	defer conn.Close()
	m := metrics.New()
	m.Cluster("worker", conn.Healthy)
	opts := m.PipelineOptions()
	opts.Logger = logger
	if cfg.Cluster.SharedLimits {
		opts.HostGate = conn.HostGate()
	}
	env, err := pipeline.New(cfg, opts)
	if err != nil {
		return fail(stderr, err)
	}
	defer env.Close()
	defer env.Drain(pipeline.DrainBound, func(site string, n int) {
		logger.Warn("background reports not sent; dropped", "site", site, "unsent", n, "waited", pipeline.DrainBound)
	})
	if addr := cfg.Output.MetricsListen; addr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		// A worker cut off from NATS takes no jobs: unhealthy.
		mux.Handle("/healthz", metrics.Health(conn.Healthy))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(stderr, fmt.Errorf("metrics listen: %w", err))
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	w := cluster.NewWorker(conn, env, cluster.WorkerOptions{Jobs: cfg.Bot.MaxJobs,
		Dir: filepath.Join(cfg.Output.Dir, "worker"), Logger: logger, Outcome: m.ClusterJob})
	logger.Info("worker ready", "version", pipeline.Version, "jobs", cfg.Bot.MaxJobs, "shared_limits", cfg.Cluster.SharedLimits)
	if err := w.Run(ctx); err != nil {
		return fail(stderr, err)
	}
	return 0
}
