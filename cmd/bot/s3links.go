package main

import (
	"context"
	"log/slog"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/bot"
	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/s3store"
)

// useS3Links makes the bot's download links presigned URLs into the
// [cluster] s3_* bucket: gateways need no public server, and any gateway's
// link works. st is the cluster connection's client (nil: one is made).
func useS3Links(ctx context.Context, cfg *config.Config, st *s3store.Store, bc *bot.Config, logger *slog.Logger) error {
	if st == nil {
		var err error
		if st, err = s3store.New(cluster.OptionsFrom(cfg.Cluster).S3); err != nil {
			return err
		}
		if err := st.Check(ctx); err != nil {
			return err
		}
	}
	links := s3store.NewLinks(st, bc.LinkTTL, book.MediaType)
	if links.TTL() < bc.LinkTTL {
		logger.Warn("[output] link_ttl is longer than S3 presigned URLs can live; links expire sooner", "link_ttl", bc.LinkTTL, "s3_links", links.TTL())
	}
	bc.Links, bc.LinkTTL = links, links.TTL()
	return nil
}
