// Package bot is the Discord side of mangabot: slash commands, a job queue
// over the pipeline, status messages that follow progress within Discord's
// rate limits, cancel buttons, and delivery of the PDFs (attachments, parts
// or signed links).
package bot

import (
	"os"
	"path/filepath"
	"time"

	"github.com/mangabot/mangabot/metrics"
)

// Config configures the bot. Zero values mean the defaults given per field.
type Config struct {
	Token    string   // bot token, with or without the "Bot " prefix
	AppID    string   // application id; empty: taken from READY
	GuildIDs []string // register commands in these guilds; empty: globally
	// APIURL is where requests for https://discord.com go (same paths);
	// default https://discord.com. The gateway URL is asked from it.
	APIURL string

	MaxJobs           int // jobs running at once; default 2
	MaxQueuedPerUser  int // unfinished jobs per user; default 3, <0 unlimited
	MaxQueuedPerGuild int // unfinished jobs per guild; default 10, <0 unlimited

	// EditInterval is the least time between two edits of one status
	// message; default 1.5s.
	EditInterval time.Duration
	// EditsPerSecond bounds progress edits of all messages together (they
	// share one rate-limit bucket in discordgo); default 4. Final edits are
	// not dropped, only delayed.
	EditsPerSecond float64

	OutputDir string // job files; default $TMPDIR/mangabot
	MaxParts  int    // most files one result may be split into; default 10

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
	LinkTTL    time.Duration // default 24h
	LinkSecret string        // HMAC key; empty: random per process

	ShutdownGrace    time.Duration // time running jobs get on shutdown; default 30s
	CancelOnShutdown bool          // cancel running jobs at once on shutdown

	// TokenTTL is how long an interaction token is used; after it, status
	// edits and delivery go through the bot token. Default 14m (Discord's
	// tokens live 15m).
	TokenTTL time.Duration
	// ResolveWait is how long a command waits for the link to resolve
	// before acknowledging with a deferred response; default 2s.
	ResolveWait time.Duration
	// ResolveTimeout bounds resolving a link; default 2m.
	ResolveTimeout time.Duration

	// Uploads time out after UploadTimeout + size/UploadMinRate; defaults
	// 30s and 128 KiB/s.
	UploadTimeout time.Duration
	UploadMinRate int64
	// DefaultAttachmentLimit is used when an interaction carries no
	// attachment_size_limit; default 10 MiB.
	DefaultAttachmentLimit int64

	// Retries and RetryDelay govern final edits and deliveries (doubling
	// delay); defaults 5 and 1s.
	Retries    int
	RetryDelay time.Duration

	// StorePath is the job store (a bbolt file, see package store). When
	// set, jobs are persisted and resume after a restart (their pages are
	// kept in OutputDir/job-<id>); empty: nothing is persisted.
	StorePath string
	// CacheKeep is how long finished files are kept in OutputDir/cache to
	// answer identical requests at once; 0: no cache.
	CacheKeep time.Duration
	// CacheMaxBytes is the cache's disk quota (least recently used go
	// first); 0: no quota.
	CacheMaxBytes int64
	// CacheSweep is how often expired cache entries are removed; default
	// 5m.
	CacheSweep time.Duration

	// Cooldown is the least time between two download requests of one
	// user; 0: none.
	Cooldown time.Duration
	// DailyPages bounds the pages one user may have downloaded per UTC
	// day (cache hits and shared jobs are free); 0: unlimited. Counted in
	// the store when there is one, else in memory.
	DailyPages int
	// Now is the clock of the quotas; default time.Now.
	Now func() time.Time

	// Metrics receives job transitions and serves /metrics and /healthz;
	// nil: the bot makes its own (with job and gateway metrics only).
	Metrics *metrics.Metrics
}

func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = "https://discord.com"
	}
	if c.MaxJobs <= 0 {
		c.MaxJobs = 2
	}
	if c.MaxQueuedPerUser == 0 {
		c.MaxQueuedPerUser = 3
	}
	if c.MaxQueuedPerGuild == 0 {
		c.MaxQueuedPerGuild = 10
	}
	if c.EditInterval <= 0 {
		c.EditInterval = 1500 * time.Millisecond
	}
	if c.EditsPerSecond <= 0 {
		c.EditsPerSecond = 4
	}
	if c.OutputDir == "" {
		c.OutputDir = filepath.Join(os.TempDir(), "mangabot")
	}
	if c.MaxParts <= 0 {
		c.MaxParts = 10
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = 24 * time.Hour
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = 14 * time.Minute
	}
	if c.ResolveWait <= 0 {
		c.ResolveWait = 2 * time.Second
	}
	if c.ResolveTimeout <= 0 {
		c.ResolveTimeout = 2 * time.Minute
	}
	if c.UploadTimeout <= 0 {
		c.UploadTimeout = 30 * time.Second
	}
	if c.UploadMinRate <= 0 {
		c.UploadMinRate = 128 << 10
	}
	if c.DefaultAttachmentLimit <= 0 {
		c.DefaultAttachmentLimit = 10 << 20
	}
	if c.Retries <= 0 {
		c.Retries = 5
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.CacheSweep <= 0 {
		c.CacheSweep = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
