package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/time/rate"

	"github.com/mangabot/mangabot/cache"
	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/metrics"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/store"
)

// Bot is a running Discord bot. Build it with New and start it with Run.
type Bot struct {
	cfg    Config
	env    *pipeline.Env
	runner Runner
	log    *slog.Logger
	s      *discordgo.Session
	tr     http.RoundTripper
	edits  *rate.Limiter
	links  Publisher // nil: no links
	local  *links    // the bot's own signed links, when they are the Publisher
	appID  string
	jobDir string
	// ready is closed once Run has registered the stored jobs (or has
	// ended); interactions wait for it.
	ready    chan struct{}
	openOnce sync.Once

	m *metrics.Metrics

	// editPause (unix nanos): progress edits wait until then after a 429.
	editPause atomic.Int64

	st      store.Store    // nil: no persistence
	follows *follow.Poller // nil: no store, no follows
	cache   *cache.Cache   // nil: no cache
	quota   *quota

	mu      sync.Mutex
	jobs    map[string]*job // unfinished jobs by id
	byKey   map[string]*job // unfinished jobs by request key
	byCkey  map[string]*job // unfinished jobs by their result's cache key
	queue   []*job          // waiting, in order
	running int
	closing bool
	wg      sync.WaitGroup // job goroutines (incl. delivery)

	// hardStop ends retries of final edits when shutdown runs out of time.
	hardStop   context.Context
	hardCancel context.CancelFunc
}

// New builds a bot; it does not connect (Run does).
func New(cfg Config, env *pipeline.Env, logger *slog.Logger) (*Bot, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if env == nil {
		return nil, errors.New("no pipeline env")
	}
	if logger == nil {
		logger = slog.Default()
	}
	// Tokens and link signatures never reach the log, whatever is logged.
	logger = slog.New(newRedactor(logger.Handler(), strings.TrimPrefix(cfg.Token, "Bot "), cfg.LinkSecret))
	routeDiscordgoLogs(logger)
	tok := cfg.Token
	if !strings.HasPrefix(tok, "Bot ") {
		tok = "Bot " + tok
	}
	s, err := discordgo.New(tok)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	tr, err := newTransport(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("discord api url: %w", err)
	}
	tr = &logTransport{next: tr, log: logger}
	s.Client = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	// Interactions arrive without any intent; Guilds brings GUILD_DELETE
	// (follows of a server the bot left are paused) and channel names.
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = true
	s.LogLevel = discordgo.LogError
	b := &Bot{
		cfg:    cfg,
		env:    env,
		log:    logger,
		s:      s,
		tr:     tr,
		edits:  rate.NewLimiter(rate.Limit(cfg.EditsPerSecond), 1),
		jobs:   map[string]*job{},
		byKey:  map[string]*job{},
		byCkey: map[string]*job{},
		jobDir: filepath.Join(cfg.OutputDir, "jobs"),
		ready:  make(chan struct{}),
		quota:  newQuota(cfg),
		m:      cfg.Metrics,
		runner: cfg.Runner,
	}
	if b.runner == nil {
		b.runner = localRunner{env}
	}
	if b.m == nil {
		b.m = metrics.New()
	}
	if cfg.ShardCount > 0 {
		s.ShardID, s.ShardCount = cfg.ShardID, cfg.ShardCount
	}
	b.m.GatewayFunc(func() bool {
		// A runner with a connection of its own (a cluster's NATS) must
		// be up too.
		if h, ok := b.runner.(interface{ Healthy() bool }); ok && !h.Healthy() {
			return false
		}
		b.s.RLock()
		defer b.s.RUnlock()
		return b.s.DataReady
	})
	b.m.QueueLengthFunc(func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queue)
	})
	b.hardStop, b.hardCancel = context.WithCancel(context.Background())
	switch {
	case cfg.Links != nil:
		b.links = cfg.Links
	case cfg.PublicURL != "" && cfg.Listen != "":
		b.local, err = newLinks(filepath.Join(cfg.OutputDir, "links"), cfg.PublicURL, cfg.LinkSecret, cfg.LinkTTL)
		if err != nil {
			return nil, fmt.Errorf("links: %w", err)
		}
		b.links = b.local
	}
	s.AddHandler(b.onEvent)
	s.AddHandler(b.onGuildDelete)
	return b, nil
}

// openGate lets interactions through.
func (b *Bot) openGate() { b.openOnce.Do(func() { close(b.ready) }) }

// Run connects, registers the commands and serves until ctx ends, then
// shuts down: no new jobs, running ones finish (or are cancelled with
// CancelOnShutdown, or when ShutdownGrace runs out), and Run returns.
//
// Nothing is created on disk before the gateway connection stands, so a
// bad token or no network leaves the output directory as it was.
// Interactions that arrive meanwhile wait until the store's unfinished
// jobs are registered.
func (b *Bot) Run(ctx context.Context) error {
	defer b.openGate()
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("connect to discord: %w", err)
	}
	defer b.s.Close()
	if err := os.MkdirAll(b.jobDir, 0o755); err != nil {
		return fmt.Errorf("make jobs dir: %w", err)
	}
	// Work folders of `bot fetch` runs into the same directory that were
	// killed; the bot's own jobs keep theirs under jobs/.
	if gone, err := pipeline.CleanStale(b.cfg.OutputDir, ""); err != nil {
		b.log.Warn("cleaning work folders failed", "err", err)
	} else if len(gone) > 0 {
		b.log.Info("removed work folders of dead runs", "folders", len(gone))
	}
	pending, err := b.openStorage()
	if err != nil {
		return err
	}
	defer b.closeStorage()
	if b.local != nil {
		if err := b.local.makeDir(); err != nil {
			return fmt.Errorf("links dir: %w", err)
		}
		b.local.clearDead()
	}
	if b.cache != nil {
		go b.sweepCache(ctx)
	}
	if b.cfg.Listen != "" && b.local != nil {
		mux := http.NewServeMux()
		mux.Handle("/dl/", b.local)
		stop, err := serve(b.cfg.Listen, mux)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		defer stop()
	}
	if b.links != nil {
		go b.sweepLinks(ctx)
	}
	if b.cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", b.m.Handler())
		mux.Handle("/healthz", metrics.Health(b.m.GatewayConnected))
		stop, err := serve(b.cfg.MetricsListen, mux)
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		defer stop()
	}
	b.newFollows()
	rs := b.registerAll(pending)
	b.openGate()
	if err := b.register(); err != nil {
		b.abortResumed(rs)
		return err
	}
	b.log.Info("bot ready", "app", b.appID, "guilds", len(b.cfg.GuildIDs), "resuming", len(pending))
	b.resumeAll(rs)
	fctx, stopFollows := context.WithCancel(ctx)
	defer stopFollows()
	b.startFollows(fctx)
	<-ctx.Done()
	b.shutdown()
	return nil
}

// serve serves h on addr until stop is called.
func serve(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// shutdown stops taking jobs and ends the running ones in bounded time.
func (b *Bot) shutdown() {
	b.log.Info("shutting down")
	b.mu.Lock()
	b.closing = true
	var all []*job
	for _, j := range b.jobs {
		all = append(all, j)
	}
	queued := append([]*job(nil), b.queue...)
	b.mu.Unlock()
	for _, j := range queued {
		j.stop(errShutdown)
	}
	for _, j := range all {
		if b.cfg.CancelOnShutdown {
			j.stop(errShutdown)
		} else {
			j.setNote("⚠️ The bot is shutting down; this job may be cancelled if it does not finish in time.")
		}
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(b.cfg.ShutdownGrace):
	}
	b.mu.Lock()
	for _, j := range b.jobs {
		all = append(all, j)
	}
	b.mu.Unlock()
	for _, j := range all {
		j.stop(errShutdown)
	}
	// Cancelled jobs need a moment for their final edit; bound it.
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownGrace/2 + time.Second):
		b.hardCancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			b.log.Warn("jobs did not end in time")
		}
	}
}

func (b *Bot) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}
