package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// RecommendedShards asks Discord (GET /gateway/bot) how many gateway
// shards it recommends for the bot of token, at apiURL (as
// bot.Config.APIURL): for bot run -shard-count auto.
func RecommendedShards(ctx context.Context, token, apiURL string) (int, error) {
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return 0, fmt.Errorf("ask discord for the shard count: %w", err)
	}
	tr, err := newTransport(apiURL)
	if err != nil {
		return 0, fmt.Errorf("discord api url: %w", err)
	}
	s.Client = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	s.LogLevel = discordgo.LogError
	gb, err := s.GatewayBot(discordgo.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("ask discord for the shard count: %w", err)
	}
	if gb.Shards < 1 {
		return 0, fmt.Errorf("ask discord for the shard count: it recommended %d", gb.Shards)
	}
	return gb.Shards, nil
}
