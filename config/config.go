package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/sites"
)

// Config is the whole file.
type Config struct {
	Discord  Discord  `toml:"discord" help:"Discord connection."`
	Bot      Bot      `toml:"bot" help:"Jobs and queue of the Discord bot."`
	Download Download `toml:"download" help:"The fetcher shared by every job."`
	Browser  Browser  `toml:"browser" help:"Headless Chromium for readers that build their pages with scripts."`
	Output   Output   `toml:"output" help:"Where finished files go and how they are delivered."`
	PDF      PDF      `toml:"pdf" help:"The PDF writer."`
	Sites    Sites    `toml:"sites" help:"Site handlers. Each handler's own options live under [sites.NAME]."`
	Storage  Storage  `toml:"storage" help:"Where the bot keeps its jobs, so they survive a restart."`
	Follows  Follows  `toml:"follows" help:"Followed series: new chapters posted by themselves (/manga follow, bot follow)."`
	Log      Log      `toml:"log" help:"Logging."`
	Cluster  Cluster  `toml:"cluster" help:"Distributed mode on NATS JetStream: bot run -role gateway|worker. Without nats_url, bot run is one process as always."`

	// fromEnv maps a key ("download.rate") to the MANGABOT_* variable
	// that set it, so that an error names where the bad value came from.
	fromEnv map[string]string
}

// Storage configures the job store.
type Storage struct {
	Path string `toml:"path" help:"The job store (one bbolt file; one bot process per file). Unfinished jobs resume from it at start."`
}

// Discord holds the connection settings.
type Discord struct {
	Token    string   `toml:"token" help:"Bot token. The DISCORD_TOKEN environment variable overrides it; keep it out of files you share."`
	GuildIDs []string `toml:"guild_ids" help:"Register commands in these guilds only (instant); empty: register globally (can take up to an hour to appear)."`
	APIURL   string   `toml:"api_url" help:"Base URL that replaces https://discord.com for REST and gateway discovery (REST proxies such as nirn-proxy, tests)."`
}

// Bot holds the queue settings.
type Bot struct {
	MaxJobs           int      `toml:"max_jobs" help:"Jobs downloading at once; more wait in the queue."`
	MaxQueuedPerUser  int      `toml:"max_queued_per_user" help:"Jobs one member may have queued or running."`
	MaxQueuedPerGuild int      `toml:"max_queued_per_guild" help:"Jobs one server may have queued or running."`
	EditInterval      Duration `toml:"edit_interval" help:"Minimum time between two edits of one status message (Discord rate limits webhook edits). 1s shows the first pages within a second."`
	CancelOnShutdown  bool     `toml:"cancel_on_shutdown" help:"On SIGINT/SIGTERM cancel running jobs (true) or let them finish within shutdown_grace (false)."`
	ShutdownGrace     Duration `toml:"shutdown_grace" help:"How long shutdown waits for running jobs before cancelling them."`
	Cooldown          Duration `toml:"cooldown" help:"Least time between two download requests of one member; 0s: no cooldown."`
	DailyPages        int      `toml:"daily_pages" help:"Pages one member may download per UTC day (answers from the cache are free); 0: unlimited."`
}

// Download configures the fetcher.
type Download struct {
	UserAgent      string   `toml:"user_agent" help:"User-Agent sent to sites; empty: mangabot/VERSION (+contact)."`
	Contact        string   `toml:"contact" help:"A URL or e-mail where site operators can reach you; goes into the User-Agent."`
	Rate           float64  `toml:"rate" range:"(0,10000]" help:"Requests per second per host, shared by all jobs (site handlers may set their own)."`
	Burst          int      `toml:"burst" help:"Requests a host may get at once before the rate applies."`
	Concurrency    int      `toml:"concurrency" help:"Pages in flight per job (a sliding window)."`
	MaxInFlight    int      `toml:"max_in_flight" help:"Requests in flight across all jobs."`
	Retries        int      `toml:"retries" help:"Retries on network errors, 5xx and 429 (with backoff, honouring Retry-After)."`
	ConnectTimeout Duration `toml:"connect_timeout" help:"Time to establish a connection."`
	HeaderTimeout  Duration `toml:"header_timeout" help:"Time to wait for response headers."`
	RequestTimeout Duration `toml:"request_timeout" help:"Time for one whole request, body included."`
	MaxImageBytes  int64    `toml:"max_image_bytes" help:"Largest image accepted per page, in bytes."`
	MaxPages       int      `toml:"max_pages" help:"Most pages accepted per chapter."`
	AllowNetworks  []string `toml:"allow_networks" help:"CIDRs the fetcher may reach although they are loopback, private, link-local or metadata addresses (refused by default)."`
}

// Output configures files and delivery.
type Output struct {
	Dir          string  `toml:"dir" help:"Where the bot keeps finished files and their temp files (same file system, so renames are atomic)."`
	Format       string  `toml:"format" help:"Default output format: pdf, cbz (ComicInfo.xml inside, for Komga, Kavita, Mihon) or epub (fixed layout). Users choose per request."`
	MaxFileBytes int64   `toml:"max_file_bytes" help:"Split files into parts under this size in bytes; 0: no limit of your own (bot fetch writes one file; the bot splits by the server's upload limit, or by this when smaller)."`
	MaxParts     int     `toml:"max_parts" help:"Most parts the bot uploads before it falls back to a link (or refuses)."`
	Placeholders bool    `toml:"placeholders" help:"Put a page saying which page is missing and why in place of each failed page."`
	DPI          float64 `toml:"dpi" range:"[9,2400]" help:"Image pixels per inch, which sets the page size."`
	PublicURL    string  `toml:"public_url" help:"Public base URL of the bot's HTTP server; when set, files too big to upload are linked (with [cluster] s3_endpoint set, links point into the bucket instead)."`
	Listen       string  `toml:"listen" help:"Address of the bot's HTTP server (links), e.g. :8080; empty: no server."`
	// MetricsListen is kept apart from Listen: /dl/ is public, /metrics
	// and /healthz are for operators.
	MetricsListen string   `toml:"metrics_listen" help:"Address of the server for /metrics and /healthz, e.g. 127.0.0.1:9090; empty: none. Keep it off the public listen address."`
	LinkTTL       Duration `toml:"link_ttl" help:"How long a signed download link stays valid."`
	LinkSecret    string   `toml:"link_secret" help:"HMAC key for links (MANGABOT_LINK_SECRET overrides); empty: a random key per run, so links die on restart."`
	Keep          Duration `toml:"keep" help:"How long finished files are kept (in <dir>/cache) to answer identical requests at once; 0s: no cache."`
	MaxBytes      int64    `toml:"max_bytes" help:"Disk quota of the cache in bytes; least recently used files go first."`
	// Fit: what happens to a file over the upload limit (or
	// max_file_bytes).
	Fit string `toml:"fit" help:"A file over the upload limit (or max_file_bytes): parts (split it), link (link it; needs public_url or [cluster] s3_endpoint), shrink (re-encode the pages so one file fits; parts when even the floors below cannot)."`
	// How far shrink may go (its floors), and what it may store grey.
	FitMaxWidth   int     `toml:"fit_max_width" help:"Shrink's last step scales pages wider than this many pixels down to it; 0: never scale."`
	FitMinQuality int     `toml:"fit_min_quality" help:"Lowest JPEG quality shrink uses (1-90)."`
	FitMinSSIM    float64 `toml:"fit_min_ssim" range:"(0,1]" help:"Least similarity (SSIM of a phone-width grey render, 1 = identical) of shrunk pages to the originals; below it shrink gives way to parts."`
	FitGrayscale  bool    `toml:"fit_grayscale" help:"Shrink stores pages detected as black-and-white with one channel (colour pages stay colour)."`
	// WebtoonStrip is the default; a request may ask for it too.
	WebtoonStrip   bool    `toml:"webtoon_strip" help:"Stitch a chapter's pages into one vertical strip and cut it into pages at blank gaps (for webtoons served as slices); requests may ask for it too."`
	StripPageRatio float64 `toml:"strip_page_ratio" range:"[0.25,20]" help:"Height of the pages cut from a strip, as a multiple of their width."`
}

// PDF configures the PDF writer.
type PDF struct {
	LossyWebP    string `toml:"lossy_webp" help:"Lossy WebP pages in PDFs: auto (per page, the smaller of JPEG and lossless), jpeg (re-encoded at jpeg_quality) or lossless (exact, several times larger). CBZ and EPUB keep WebP as it is."`
	JPEGQuality  int    `toml:"jpeg_quality" help:"JPEG quality (1-100) of re-encoded lossy WebP pages."`
	DecodeMemory int64  `toml:"decode_memory" help:"Bytes that decoded pages may take at once, summed over all jobs (PNG, WebP and other pages that cannot be copied as they are). A bigger PNG is converted row by row (stored at 8 bits); other bigger pages become a placeholder saying why."`
}

// Sites holds global site settings and each handler's options.
type Sites struct {
	MaxChapters int `toml:"max_chapters" help:"Most chapters one request may select from a series."`
	// Options maps a site name to its decoded options struct (pointer),
	// filled from [sites.NAME] over the handler's defaults.
	Options map[string]any `toml:"-"`
}

// Log configures logging.
type Log struct {
	Format string `toml:"format" help:"text or json."`
	Level  string `toml:"level" help:"debug, info, warn or error."`
}

// Duration is a time.Duration written as "1.5s", "2m" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. 1.5s, 2m, 24h): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns the defaults of every key.
func Default() *Config {
	c := &Config{
		Discord: Discord{APIURL: "https://discord.com", GuildIDs: []string{}},
		Bot: Bot{
			MaxJobs: 2, MaxQueuedPerUser: 3, MaxQueuedPerGuild: 10,
			EditInterval:  Duration{time.Second},
			ShutdownGrace: Duration{30 * time.Second},
			Cooldown:      Duration{0},
		},
		Download: Download{
			Rate: 4, Burst: 4, Concurrency: 8, MaxInFlight: 64, Retries: 3,
			ConnectTimeout: Duration{10 * time.Second}, HeaderTimeout: Duration{30 * time.Second},
			RequestTimeout: Duration{2 * time.Minute}, MaxImageBytes: 50 << 20, MaxPages: 2000,
			AllowNetworks: []string{},
		},
		Browser: defaultBrowser(),
		Output: Output{
			Dir: "data", Format: "pdf", MaxParts: 10, Placeholders: true, DPI: 96,
			MetricsListen: "127.0.0.1:9090",
			LinkTTL:       Duration{24 * time.Hour},
			Keep:          Duration{24 * time.Hour}, MaxBytes: 2 << 30,
			Fit: "parts", FitMaxWidth: 1200, FitMinQuality: 50, FitMinSSIM: 0.9, FitGrayscale: true,
			StripPageRatio: 1.6,
		},
		PDF:     PDF{LossyWebP: "auto", JPEGQuality: 90, DecodeMemory: pdf.DefaultDecodeMemory},
		Sites:   Sites{MaxChapters: 50, Options: map[string]any{}},
		Storage: Storage{Path: "data/mangabot.db"},
		Cluster: defaultCluster(),
		Follows: defaultFollows(),
		Log:     Log{Format: "text", Level: "info"},
	}
	for _, info := range sites.All() {
		if info.Options != nil {
			c.Sites.Options[info.Name] = info.Options()
		}
	}
	return c
}

// file mirrors Config for decoding; [sites] is decoded by hand because its
// sub-tables belong to the handlers.
type file struct {
	Discord  *Discord                  `toml:"discord"`
	Bot      *Bot                      `toml:"bot"`
	Download *Download                 `toml:"download"`
	Browser  *Browser                  `toml:"browser"`
	Output   *Output                   `toml:"output"`
	PDF      *PDF                      `toml:"pdf"`
	Sites    map[string]toml.Primitive `toml:"sites"`
	Storage  *Storage                  `toml:"storage"`
	Follows  *Follows                  `toml:"follows"`
	Log      *Log                      `toml:"log"`
	Cluster  *Cluster                  `toml:"cluster"`
}

// Load reads path; an empty path means "./config.toml if present, else
// defaults". The environment (DISCORD_TOKEN, MANGABOT_LINK_SECRET) overrides
// the file. Errors name the key.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		if _, err := os.Stat("config.toml"); err == nil {
			path = "config.toml"
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.parse(string(b)); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(os.LookupEnv); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if tok := os.Getenv("DISCORD_TOKEN"); tok != "" {
		c.Discord.Token = tok
	}
	if s := os.Getenv("MANGABOT_LINK_SECRET"); s != "" {
		c.Output.LinkSecret = s
	}
	if err := c.Validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Parse decodes TOML text over the defaults (for tests and Load).
func Parse(text string) (*Config, error) {
	c := Default()
	if err := c.parse(text); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) parse(text string) error {
	f := file{Discord: &c.Discord, Bot: &c.Bot, Download: &c.Download, Browser: &c.Browser, Output: &c.Output, PDF: &c.PDF, Storage: &c.Storage, Follows: &c.Follows, Log: &c.Log, Cluster: &c.Cluster}
	md, err := toml.Decode(text, &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return fmt.Errorf("%s (line %d): %s", pe.LastKey, pe.Position.Line, pe.Message)
			}
			return fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return err
	}
	for name, prim := range f.Sites {
		if name == "max_chapters" {
			if err := md.PrimitiveDecode(prim, &c.Sites.MaxChapters); err != nil {
				return fmt.Errorf("sites.max_chapters: %w", err)
			}
			continue
		}
		info, ok := sites.Lookup(name)
		if !ok {
			return fmt.Errorf("unknown key sites.%s (sites: %s)", name, siteNames())
		}
		if info.Options == nil {
			return fmt.Errorf("sites.%s: this site has no options", name)
		}
		opts := c.Sites.Options[name]
		if err := md.PrimitiveDecode(prim, opts); err != nil {
			return fmt.Errorf("sites.%s: %w", name, err)
		}
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	return nil
}

// Validate checks values; errors name the key.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, a ...any) {
		if env, ok := c.fromEnv[key]; ok {
			key += " (from " + env + ")"
		}
		errs = append(errs, key+": "+fmt.Sprintf(format, a...))
	}
	positive := func(key string, v int) {
		if v <= 0 {
			bad(key, "must be at least 1, got %d", v)
		}
	}
	positive("bot.max_jobs", c.Bot.MaxJobs)
	positive("bot.max_queued_per_user", c.Bot.MaxQueuedPerUser)
	positive("bot.max_queued_per_guild", c.Bot.MaxQueuedPerGuild)
	positive("download.burst", c.Download.Burst)
	positive("download.concurrency", c.Download.Concurrency)
	positive("download.max_in_flight", c.Download.MaxInFlight)
	positive("download.max_pages", c.Download.MaxPages)
	positive("output.max_parts", c.Output.MaxParts)
	positive("sites.max_chapters", c.Sites.MaxChapters)
	c.Cluster.validate(bad, positive)
	if c.Download.Retries < 0 {
		bad("download.retries", "must be 0 or more, got %d", c.Download.Retries)
	}
	if c.Download.MaxImageBytes <= 0 {
		bad("download.max_image_bytes", "must be above 0")
	}
	if c.Output.MaxFileBytes < 0 || (c.Output.MaxFileBytes > 0 && c.Output.MaxFileBytes < 1<<20) {
		bad("output.max_file_bytes", "must be 0 (one file) or at least 1 MiB (1048576), got %d", c.Output.MaxFileBytes)
	}
	if _, err := book.ParseFormat(c.Output.Format); err != nil || c.Output.Format == "" {
		bad("output.format", "must be pdf, cbz or epub, got %q", c.Output.Format)
	}
	switch c.PDF.LossyWebP {
	case "auto", "jpeg", "lossless":
	default:
		bad("pdf.lossy_webp", "must be auto, jpeg or lossless, got %q", c.PDF.LossyWebP)
	}
	if c.PDF.JPEGQuality < 1 || c.PDF.JPEGQuality > 100 {
		bad("pdf.jpeg_quality", "must be between 1 and 100, got %d", c.PDF.JPEGQuality)
	}
	if c.PDF.DecodeMemory < 16<<20 {
		bad("pdf.decode_memory", "must be at least 16 MiB (16777216), got %d", c.PDF.DecodeMemory)
	}
	// Every float key at once, site options included: NaN and Inf pass
	// any comparison-based check, so they are refused here by kind.
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Type().Field(i); f.IsExported() {
			checkFloats(v.Field(i), tomlName(f), bad)
		}
	}
	for name, opts := range c.Sites.Options {
		checkFloats(reflect.ValueOf(opts), "sites."+name, bad)
	}
	for key, d := range map[string]Duration{
		"bot.edit_interval": c.Bot.EditInterval, "bot.shutdown_grace": c.Bot.ShutdownGrace,
		"download.connect_timeout": c.Download.ConnectTimeout, "download.header_timeout": c.Download.HeaderTimeout,
		"download.request_timeout": c.Download.RequestTimeout, "output.link_ttl": c.Output.LinkTTL,
	} {
		if d.Duration <= 0 {
			bad(key, "must be a positive duration, got %s", d.Duration)
		}
	}
	c.Follows.validate(bad, positive)
	// Site options are checked by the handler that owns them, so a bad
	// value stops the bot at load time with its key named.
	for _, info := range sites.All() {
		if opts, ok := c.Sites.Options[info.Name]; ok {
			if _, err := info.New(opts); err != nil {
				bad("sites."+info.Name, "%v", err)
			}
		}
	}
	c.Browser.validate(bad)
	if _, err := c.AllowNetworks(); err != nil {
		bad("download.allow_networks", "%v", err)
	}
	if c.Output.Dir == "" {
		bad("output.dir", "must not be empty")
	}
	if c.Storage.Path == "" {
		bad("storage.path", "must not be empty")
	}
	for key, d := range map[string]Duration{"bot.cooldown": c.Bot.Cooldown, "output.keep": c.Output.Keep} {
		if d.Duration < 0 {
			bad(key, "must be 0s or a positive duration, got %s", d.Duration)
		}
	}
	if c.Bot.DailyPages < 0 {
		bad("bot.daily_pages", "must be 0 (unlimited) or more, got %d", c.Bot.DailyPages)
	}
	switch c.Output.Fit {
	case "parts", "link", "shrink":
	default:
		bad("output.fit", "must be parts, link or shrink, got %q", c.Output.Fit)
	}
	if c.Output.Fit == "link" && c.Output.PublicURL == "" && c.Cluster.S3Endpoint == "" {
		bad("output.fit", "link needs output.public_url (the bot serves the files) or cluster.s3_endpoint (the bucket does)")
	}
	if w := c.Output.FitMaxWidth; w < 0 || (w > 0 && w < 100) {
		bad("output.fit_max_width", "must be 0 (never scale) or at least 100, got %d", w)
	}
	if q := c.Output.FitMinQuality; q < 1 || q > 90 {
		bad("output.fit_min_quality", "must be between 1 and 90, got %d", q)
	}
	if c.Output.MaxBytes <= 0 {
		bad("output.max_bytes", "must be above 0, got %d", c.Output.MaxBytes)
	}
	if c.Output.PublicURL != "" {
		if !strings.HasPrefix(c.Output.PublicURL, "http://") && !strings.HasPrefix(c.Output.PublicURL, "https://") {
			bad("output.public_url", "must start with http:// or https://")
		}
		if c.Output.Listen == "" {
			bad("output.listen", "must be set when output.public_url is set (the bot serves the links)")
		}
	}
	if a := c.Output.MetricsListen; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			bad("output.metrics_listen", "must be host:port (e.g. 127.0.0.1:9090) or empty, got %q", a)
		} else if a == c.Output.Listen {
			bad("output.metrics_listen", "must differ from output.listen (which serves public links)")
		}
	}
	if c.Discord.APIURL != "" && !strings.HasPrefix(c.Discord.APIURL, "http://") && !strings.HasPrefix(c.Discord.APIURL, "https://") {
		bad("discord.api_url", "must start with http:// or https://")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// AllowNetworks parses download.allow_networks (a bare address is a /32 or /128).
func (c *Config) AllowNetworks() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.Download.AllowNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("not a CIDR: %q", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func siteNames() string {
	var names []string
	for _, i := range sites.All() {
		names = append(names, i.Name)
	}
	return strings.Join(names, ", ")
}

// EnvName is the environment variable that overrides a key: [output] dir
// is MANGABOT_OUTPUT_DIR. Containers are configured this way.
func EnvName(section, key string) string {
	return "MANGABOT_" + strings.ToUpper(section) + "_" + strings.ToUpper(key)
}

// envKeys calls f with every plain key of every section: its
// "section.key" name, its MANGABOT_* variable and its field.
func (c *Config) envKeys(f func(key, name string, field reflect.Value) error) error {
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		section := v.Type().Field(i)
		if !section.IsExported() {
			continue
		}
		sv := v.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			key := strings.Split(sv.Type().Field(j).Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			if err := f(tomlName(section)+"."+key, EnvName(tomlName(section), key), sv.Field(j)); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnvNames lists every MANGABOT_* variable the config reads.
func EnvNames() []string {
	var names []string
	Default().envKeys(func(_, name string, _ reflect.Value) error {
		names = append(names, name)
		return nil
	})
	return names
}

// applyEnv sets every plain key of every section from its MANGABOT_*
// variable when set. Lists are comma-separated. Site options stay in files.
func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	return c.envKeys(func(key, name string, field reflect.Value) error {
		val, ok := lookup(name)
		if !ok {
			return nil
		}
		if err := setFromString(field, val); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if c.fromEnv == nil {
			c.fromEnv = map[string]string{}
		}
		c.fromEnv[key] = name
		return nil
	})
}

func tomlName(f reflect.StructField) string { return strings.Split(f.Tag.Get("toml"), ",")[0] }

func setFromString(f reflect.Value, s string) error {
	if f.CanAddr() {
		if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
			return u.UnmarshalText([]byte(s))
		}
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", s)
		}
		f.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		f.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		f.SetBool(b)
	case reflect.Slice:
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		if items == nil {
			items = []string{}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
