package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/mangabot/mangabot/bot"
	"github.com/mangabot/mangabot/config"
)

// shardCount is -shard-count: a number (0: no sharding) or auto,
// Discord's recommendation (GET /gateway/bot) when the process starts.
type shardCount struct {
	n    int
	auto bool
}

func (s *shardCount) String() string {
	if s.auto {
		return "auto"
	}
	return strconv.Itoa(s.n)
}

func (s *shardCount) Set(v string) error {
	if v == "auto" {
		s.auto, s.n = true, 0
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want a number of shards or auto")
	}
	s.auto, s.n = false, n
	return nil
}

// resolveShards fills in an auto shard count from Discord and checks
// -shard-id against it; it logs the shard used.
func (r *roleFlags) resolveShards(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	source := "flag"
	if r.shards.auto {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		n, err := bot.RecommendedShards(actx, cfg.Discord.Token, cfg.Discord.APIURL)
		if err != nil {
			return err
		}
		if r.shardID >= n {
			return fmt.Errorf("-shard-id %d must be below -shard-count %d (auto: Discord's recommendation)", r.shardID, n)
		}
		r.shards, source = shardCount{n: n}, "auto"
	}
	if r.shards.n > 0 {
		logger.Info("discord shard", "shard_id", r.shardID, "shard_count", r.shards.n, "count_from", source)
	}
	return nil
}
