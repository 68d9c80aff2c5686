package bot

import (
	"errors"
	"fmt"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/store"
)

// Config configures the bot. Build it with ConfigFrom: the operator's
// settings come from package config (the one place their defaults live),
// the bot's own tunings from ConfigFrom; New refuses a Config with a
// setting left unset rather than guess it.
type Config struct {
	Token    string   // bot token, with or without the "Bot " prefix
	GuildIDs []string // register commands in these guilds; empty: globally
	// APIURL is where requests for https://discord.com go (same paths);
	// the gateway URL is asked from it.
	APIURL string

	MaxJobs           int // jobs running at once
	MaxQueuedPerUser  int // unfinished jobs per user; 0 or less: unlimited
	MaxQueuedPerGuild int // unfinished jobs per guild; 0 or less: unlimited

	// EditInterval is the least time between two edits of one status
	// message.
	EditInterval time.Duration
	// EditsPerSecond bounds progress edits of all messages together (they
	// share one rate-limit bucket in discordgo). Final edits are not
	// dropped, only delayed.
	EditsPerSecond float64

	OutputDir string // job files, the cache and published links
	MaxParts  int    // most files one result may be split into

	// Listen is the address of the bot's public HTTP server: /dl/ (with
	// PublicURL). Empty: no server.
	Listen string
	// MetricsListen is the address of the operators' HTTP server: /metrics
	// and /healthz. Empty: none.
	MetricsListen string
	// PublicURL (with Listen) enables links for results too big to attach:
	// the bot serves them on Listen under PublicURL with signed, expiring
	// URLs.
	PublicURL  string
	LinkTTL    time.Duration
	LinkSecret string // HMAC key; empty: random per process
	// Links, when set, publishes those files instead (package s3store:
	// presigned bucket URLs valid for LinkTTL), with no server of the
	// bot's own.
	Links Publisher

	ShutdownGrace    time.Duration // time running jobs get on shutdown
	CancelOnShutdown bool          // cancel running jobs at once on shutdown

	// TokenTTL is how long an interaction token is used; after it, status
	// edits and delivery go through the bot token (Discord's tokens live
	// 15m).
	TokenTTL time.Duration
	// ResolveWait is how long a command waits for the link to resolve
	// before acknowledging with a deferred response (Discord wants an
	// answer within 3s).
	ResolveWait time.Duration
	// ResolveTimeout bounds resolving a link.
	ResolveTimeout time.Duration

	// Uploads time out after UploadTimeout + size/UploadMinRate.
	UploadTimeout time.Duration
	UploadMinRate int64
	// DefaultAttachmentLimit is used when an interaction carries no
	// attachment_size_limit.
	DefaultAttachmentLimit int64

	// Retries and RetryDelay govern final edits and deliveries (doubling
	// delay).
	Retries    int
	RetryDelay time.Duration

	// StorePath is the job store (a bbolt file, see package store). When
	// set, jobs are persisted and resume after a restart (their pages are
	// kept in OutputDir/job-<id>); empty: nothing is persisted.
	StorePath string
	// Store, when set, is the store instead of StorePath's file (the
	// cluster's, in NATS KV, shared by every gateway); the bot does not
	// close it.
	Store store.Store
	// CacheKeep is how long finished files are kept in OutputDir/cache to
	// answer identical requests at once; 0: no cache.
	CacheKeep time.Duration
	// CacheMaxBytes is the cache's disk quota (least recently used go
	// first); 0: no quota.
	CacheMaxBytes int64
	// CacheSweep is how often expired cache entries are removed.
	CacheSweep time.Duration

	// Cooldown is the least time between two download requests of one
	// user; 0: none.
	Cooldown time.Duration
	// DailyPages bounds the pages one user may have downloaded per UTC
	// day (cache hits and shared jobs are free); 0: unlimited. Counted in
	// the store when there is one, else in memory.
	DailyPages int
	// Now is the clock of the quotas.
	Now func() time.Time

	// Metrics receives job transitions and serves /metrics and /healthz;
	// nil: the bot makes its own (with job and gateway metrics only).
	Metrics *metrics.Metrics
	// Runner runs the jobs' pipelines; nil: this process does
	// (package cluster runs them on workers).
	Runner Runner
	// ShardID and ShardCount: this process's Discord gateway shard (Discord
	// requires sharding from 2,500 guilds); 0 and 0 (or 1): no sharding.
	ShardID, ShardCount int

	// Follows configures followed series ([follows]); they need a store.
	Follows config.Follows
	// FollowHook, when set, is called where a crash test stops the bot
	// (follow.Options.Hook).
	FollowHook func(stage string)
}

// The bot's own tunings: facts of Discord's API and of being a polite
// client, not operator settings (config has no keys for them).
const (
	editsPerSecond         = 4                // webhook edits share one bucket
	tokenTTL               = 14 * time.Minute // interaction tokens live 15m
	resolveWait            = 2 * time.Second  // interactions must be answered in 3s
	resolveTimeout         = 2 * time.Minute
	uploadTimeout          = 30 * time.Second
	uploadMinRate          = 128 << 10 // bytes per second
	defaultAttachmentLimit = 10 << 20  // Discord's limit without boosts
	retries                = 5
	retryDelay             = time.Second
	cacheSweep             = 5 * time.Minute
)

// ConfigFrom maps the operator's settings (package config, with its
// defaults) onto the bot's options and adds the bot's own tunings. The
// result is complete: tests adjust it, nothing fills it in later.
func ConfigFrom(c *config.Config) Config {
	return Config{
		Token:             c.Discord.Token,
		GuildIDs:          c.Discord.GuildIDs,
		APIURL:            c.Discord.APIURL,
		MaxJobs:           c.Bot.MaxJobs,
		MaxQueuedPerUser:  c.Bot.MaxQueuedPerUser,
		MaxQueuedPerGuild: c.Bot.MaxQueuedPerGuild,
		EditInterval:      c.Bot.EditInterval.Duration,
		OutputDir:         c.Output.Dir,
		MaxParts:          c.Output.MaxParts,
		PublicURL:         c.Output.PublicURL,
		Listen:            c.Output.Listen,
		MetricsListen:     c.Output.MetricsListen,
		LinkTTL:           c.Output.LinkTTL.Duration,
		LinkSecret:        c.Output.LinkSecret,
		ShutdownGrace:     c.Bot.ShutdownGrace.Duration,
		CancelOnShutdown:  c.Bot.CancelOnShutdown,
		StorePath:         c.Storage.Path,
		CacheKeep:         c.Output.Keep.Duration,
		CacheMaxBytes:     c.Output.MaxBytes,
		Cooldown:          c.Bot.Cooldown.Duration,
		DailyPages:        c.Bot.DailyPages,
		Follows:           c.Follows,

		EditsPerSecond:         editsPerSecond,
		TokenTTL:               tokenTTL,
		ResolveWait:            resolveWait,
		ResolveTimeout:         resolveTimeout,
		UploadTimeout:          uploadTimeout,
		UploadMinRate:          uploadMinRate,
		DefaultAttachmentLimit: defaultAttachmentLimit,
		Retries:                retries,
		RetryDelay:             retryDelay,
		CacheSweep:             cacheSweep,
		Now:                    time.Now,
	}
}

// check reports the settings New cannot run without.
func (c Config) check() error {
	var missing []string
	need := func(name string, ok bool) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need("Token", c.Token != "")
	need("APIURL", c.APIURL != "")
	need("OutputDir", c.OutputDir != "")
	need("MaxJobs", c.MaxJobs > 0)
	need("MaxParts", c.MaxParts > 0)
	need("EditInterval", c.EditInterval > 0)
	need("EditsPerSecond", c.EditsPerSecond > 0)
	need("LinkTTL", c.LinkTTL > 0)
	need("ShutdownGrace", c.ShutdownGrace > 0)
	need("TokenTTL", c.TokenTTL > 0)
	need("ResolveWait", c.ResolveWait > 0)
	need("ResolveTimeout", c.ResolveTimeout > 0)
	need("UploadTimeout", c.UploadTimeout > 0)
	need("UploadMinRate", c.UploadMinRate > 0)
	need("DefaultAttachmentLimit", c.DefaultAttachmentLimit > 0)
	need("Retries", c.Retries > 0)
	need("RetryDelay", c.RetryDelay > 0)
	need("CacheSweep", c.CacheSweep > 0)
	need("Now", c.Now != nil)
	if len(missing) == 0 {
		return nil
	}
	if c.Token == "" && len(missing) == 1 {
		return errors.New("no Discord token")
	}
	return fmt.Errorf("bot settings unset (build them with bot.ConfigFrom): %v", missing)
}
