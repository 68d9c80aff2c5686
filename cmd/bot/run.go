package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/mangabot/mangabot/bot"
	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/s3store"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
)

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var rf roleFlags
	rf.register(fs)
	cfg, fs, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: bot run [-config F] [-role gateway|worker] [-shard-id N -shard-count M|auto]")
		return 2
	}
	if err := rf.check(cfg); err != nil {
		return fail(stderr, err)
	}
	if rf.role == "worker" {
		return runWorker(ctx, cfg, stderr)
	}
	if cfg.Discord.Token == "" {
		return fail(stderr, errors.New("no Discord token: set DISCORD_TOKEN or [discord] token"))
	}
	logger := newLogger(cfg.Log, stderr)
	if err := rf.resolveShards(ctx, cfg, logger); err != nil {
		return fail(stderr, err)
	}
	m := metrics.New()
	opts := m.PipelineOptions()
	opts.Logger = logger
	env, err := pipeline.New(cfg, opts)
	if err != nil {
		return fail(stderr, err)
	}
	// Kills the headless browser, if one started, with all its processes.
	defer env.Close()
	if env.Browser != nil {
		// Chromium starts on the first render; say now if it cannot.
		if err := env.Browser.Available(); err != nil {
			logger.Warn("[browser] is enabled but unusable; pages that need rendering will fail", "err", err)
		}
	}
	bc := bot.ConfigFrom(cfg)
	bc.Metrics = m
	bc.ShardID, bc.ShardCount = rf.shardID, rf.shards.n
	var s3 *s3store.Store
	if rf.role == "gateway" {
		conn, err := connectCluster(ctx, cfg, "gateway", logger)
		if err != nil {
			return fail(stderr, err)
		}
		defer conn.Close()
		m.Cluster("gateway", conn.Healthy)
		g := cluster.NewGateway(conn)
		g.Observe(m.ClusterGatewayJob)
		bc.Runner = g
		// Jobs and follows live in NATS KV, shared by every gateway: one
		// restarted elsewhere resumes its shard's jobs.
		st, err := conn.Store(ctx, nil)
		if err != nil {
			return fail(stderr, err)
		}
		bc.Store = st
		s3 = conn.S3()
	}
	if cfg.Cluster.S3Endpoint != "" {
		if err := useS3Links(ctx, cfg, s3, &bc, logger); err != nil {
			return fail(stderr, err)
		}
	}
	bc.FollowHook = followHold(logger)
	b, err := bot.New(bc, env, logger)
	if err != nil {
		return fail(stderr, err)
	}
	storeName := cfg.Storage.Path
	if bc.Store != nil {
		storeName = fmt.Sprint(bc.Store)
	}
	logger.Info("starting", "version", pipeline.Version, "output_dir", cfg.Output.Dir, "store", storeName)
	// At shutdown, after the jobs ended: let the MangaDex@Home reports of
	// their images leave, within a bound.
	defer env.Drain(pipeline.DrainBound, func(site string, n int) {
		logger.Warn("background reports not sent; dropped", "site", site, "unsent", n, "waited", pipeline.DrainBound)
	})
	if err := b.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fail(stderr, err)
	}
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
