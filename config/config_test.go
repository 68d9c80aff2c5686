package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	// The handlers declare the [sites.NAME] keys.
	_ "github.com/mangabot/mangabot/sites/all"
)

func TestDefaultsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseOverrides(t *testing.T) {
	c, err := Parse(`
[bot]
max_jobs = 5
edit_interval = "2s"
[download]
rate = 1.5
allow_networks = ["127.0.0.0/8", "::1"]
[sites]
max_chapters = 7
[output]
format = "epub"
[pdf]
lossy_webp = "lossless"
jpeg_quality = 80
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bot.MaxJobs != 5 || c.Bot.EditInterval.Duration != 2*time.Second || c.Download.Rate != 1.5 || c.Sites.MaxChapters != 7 {
		t.Fatalf("not applied: %+v %+v %+v", c.Bot, c.Download, c.Sites)
	}
	if c.Output.Format != "epub" || c.PDF.LossyWebP != "lossless" || c.PDF.JPEGQuality != 80 {
		t.Fatalf("formats not applied: %q %+v", c.Output.Format, c.PDF)
	}
	if c.Bot.MaxQueuedPerUser != Default().Bot.MaxQueuedPerUser {
		t.Fatal("unset key lost its default")
	}
	nets, err := c.AllowNetworks()
	if err != nil || len(nets) != 2 || nets[1].String() != "::1/128" {
		t.Fatalf("allow_networks: %v %v", nets, err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[bot]\nmax_jobz = 1\n", "bot.max_jobz"},
		{"[nope]\nx = 1\n", "nope"},
		{"[sites.nosuchsite]\nx = 1\n", "sites.nosuchsite"},
		{"[bot]\nmax_jobs = 0\n", "bot.max_jobs"},
		{"[bot]\nedit_interval = \"soon\"\n", "edit_interval"},
		{"[download]\nrate = -1.0\n", "download.rate"},
		{"[output]\nmax_file_bytes = 100\n", "output.max_file_bytes"},
		{"[output]\nfit = \"squeeze\"\n", "output.fit"},
		{"[output]\nfit_max_width = 10\n", "output.fit_max_width"},
		{"[output]\nfit = \"link\"\n", "output.fit: link needs output.public_url"},
		{"[output]\nfit_min_quality = 95\n", "output.fit_min_quality"},
		{"[output]\nfit_min_ssim = 1.5\n", "output.fit_min_ssim"},
		{"[output]\nstrip_page_ratio = 0\n", "output.strip_page_ratio"},
		{"[download]\nallow_networks = [\"not-a-net\"]\n", "download.allow_networks"},
		{"[log]\nformat = \"xml\"\n", "log.format"},
		{"[storage]\npath = \"\"\n", "storage.path"},
		{"[storage]\nfile = \"x\"\n", "storage.file"},
		{"[bot]\ncooldown = \"-1s\"\n", "bot.cooldown"},
		{"[bot]\ndaily_pages = -1\n", "bot.daily_pages"},
		{"[output]\nkeep = \"-1h\"\n", "output.keep"},
		{"[output]\nmax_bytes = 0\n", "output.max_bytes"},
		{"[output]\npublic_url = \"https://x.example\"\n", "output.listen"},
		{"[output]\nmetrics_listen = \"nonsense\"\n", "output.metrics_listen"},
		{"[output]\nlisten = \":8080\"\nmetrics_listen = \":8080\"\n", "output.metrics_listen"},
		{"[output]\nformat = \"mobi\"\n", "output.format"},
		{"[output]\nformat = \"\"\n", "output.format"},
		{"[pdf]\nlossy_webp = \"png\"\n", "pdf.lossy_webp"},
		{"[pdf]\njpeg_quality = 0\n", "pdf.jpeg_quality"},
		{"[pdf]\njpeg_quality = 101\n", "pdf.jpeg_quality"},
		{"[bot\n", "line "},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v should name %q", tc.text, err, tc.want)
		}
	}
}

func TestStorageAndQuotaKeys(t *testing.T) {
	d := Default()
	if d.Storage.Path != "data/mangabot.db" || d.Output.Keep.Duration != 24*time.Hour || d.Output.MaxBytes != 2<<30 ||
		d.Bot.Cooldown.Duration != 0 || d.Bot.DailyPages != 0 {
		t.Fatalf("defaults: %+v %+v %+v", d.Storage, d.Output, d.Bot)
	}
	c, err := Parse("[storage]\npath = \"/var/lib/m.db\"\n[bot]\ncooldown = \"30s\"\ndaily_pages = 500\n[output]\nkeep = \"2h\"\nmax_bytes = 1048576\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Path != "/var/lib/m.db" || c.Bot.Cooldown.Duration != 30*time.Second || c.Bot.DailyPages != 500 ||
		c.Output.Keep.Duration != 2*time.Hour || c.Output.MaxBytes != 1<<20 {
		t.Fatalf("not applied: %+v %+v %+v", c.Storage, c.Bot, c.Output)
	}
}

func TestLoadEnvOverridesToken(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(p, []byte("[discord]\ntoken = \"from-file\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DISCORD_TOKEN", "")
	c, err := Load(p)
	if err != nil || c.Discord.Token != "from-file" {
		t.Fatalf("file token: %v %q", err, c.Discord.Token)
	}
	t.Setenv("DISCORD_TOKEN", "from-env")
	c, err = Load(p)
	if err != nil || c.Discord.Token != "from-env" {
		t.Fatalf("env token: %v %q", err, c.Discord.Token)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// The committed example must be what the declarations generate, and it must
// load as the defaults.
func TestExampleUpToDate(t *testing.T) {
	want := Example()
	got, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("config.example.toml is stale: run `go run ./cmd/bot config-example > config.example.toml`")
	}
	if _, err := Parse(want); err != nil {
		t.Fatalf("example does not load: %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	env := map[string]string{
		"MANGABOT_OUTPUT_DIR":              "/data/out",
		"MANGABOT_BOT_MAX_JOBS":            "4",
		"MANGABOT_DOWNLOAD_RATE":           "2.5",
		"MANGABOT_OUTPUT_PLACEHOLDERS":     "false",
		"MANGABOT_BOT_EDIT_INTERVAL":       "3s",
		"MANGABOT_DOWNLOAD_ALLOW_NETWORKS": "10.0.0.0/8, 192.168.1.0/24",
	}
	c := Default()
	if err := c.applyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Output.Dir != "/data/out" || c.Bot.MaxJobs != 4 || c.Download.Rate != 2.5 || c.Output.Placeholders ||
		c.Bot.EditInterval.Duration != 3*time.Second || len(c.Download.AllowNetworks) != 2 {
		t.Fatalf("not applied: %+v %+v %+v", c.Output, c.Bot, c.Download)
	}
	err := c.applyEnv(func(k string) (string, bool) { return "lots", k == "MANGABOT_BOT_MAX_JOBS" })
	if err == nil || !strings.Contains(err.Error(), "MANGABOT_BOT_MAX_JOBS") {
		t.Fatalf("bad value should name the variable: %v", err)
	}
	t.Setenv("MANGABOT_LOG_FORMAT", "json")
	c, err = Load(filepath.Join(t.TempDir(), "absent-is-fine-only-when-empty.toml"))
	if err == nil {
		t.Fatal("a named missing file must be an error")
	}
	t.Chdir(t.TempDir())
	if c, err = Load(""); err != nil || c.Log.Format != "json" {
		t.Fatalf("env over defaults: %v %+v", err, c)
	}
}

func TestSiteKeysChecked(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[sites]\nfoo = 1\n", "sites.foo"},
		{"[sites.mangadex]\nquality = \"hd\"\n", "sites.mangadex"},
		{"[sites.mangadex]\nqualty = \"data\"\n", "sites.mangadex.qualty"},
	} {
		if _, err := Parse(tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v should name %s", tc.text, err, tc.want)
		}
	}
}
