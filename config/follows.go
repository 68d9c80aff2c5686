package config

import (
	"fmt"
	"time"
)

// Follows configures followed series (/manga follow, bot follow).
type Follows struct {
	Interval      Duration       `toml:"interval" help:"How often a followed series is checked for new chapters (sites without their own entry below)."`
	Jitter        Duration       `toml:"jitter" help:"Each check is moved by a random time up to this, so follows made together do not hit a site together."`
	MaxBackoff    Duration       `toml:"max_backoff" help:"Longest wait between checks of a series whose checks fail (the wait doubles with each failure; 429 answers count)."`
	Checks        int            `toml:"checks" help:"Series checked at once; checks of one host also share the fetcher's per-host limit."`
	Permission    string         `toml:"permission" help:"Who may follow and unfollow in a server: manage_channels, manage_guild, administrator or everyone."`
	MaxPerGuild   int            `toml:"max_per_guild" help:"Most follows one server may have."`
	MaxPerChannel int            `toml:"max_per_channel" help:"Most follows one channel may have."`
	Sources       []FollowSource `toml:"source" help:"Check intervals per site (mangadex, webtoon, ...), overriding interval."`
}

// FollowSource is one site's check interval.
type FollowSource struct {
	Site     string   `toml:"site" help:"Site name, as bot sites lists it." example:"\"mangadex\""`
	Interval Duration `toml:"interval" help:"How often its series are checked." example:"\"1h\""`
}

func defaultFollows() Follows {
	return Follows{
		Interval: Duration{30 * time.Minute}, Jitter: Duration{5 * time.Minute}, MaxBackoff: Duration{6 * time.Hour},
		Checks: 4, Permission: "manage_channels", MaxPerGuild: 50, MaxPerChannel: 20,
		Sources: []FollowSource{},
	}
}

// IntervalOf is the check interval of a site's follows.
func (f Follows) IntervalOf(site string) time.Duration {
	for _, s := range f.Sources {
		if s.Site == site {
			return s.Interval.Duration
		}
	}
	return f.Interval.Duration
}

func (f Follows) validate(bad func(key, format string, a ...any), positive func(key string, v int)) {
	if f.Interval.Duration < time.Second {
		bad("follows.interval", "must be at least 1s, got %s", f.Interval.Duration)
	}
	if f.Jitter.Duration < 0 {
		bad("follows.jitter", "must be 0s or more, got %s", f.Jitter.Duration)
	}
	if f.MaxBackoff.Duration < f.Interval.Duration {
		bad("follows.max_backoff", "must be at least interval (%s), got %s", f.Interval.Duration, f.MaxBackoff.Duration)
	}
	positive("follows.checks", f.Checks)
	positive("follows.max_per_guild", f.MaxPerGuild)
	positive("follows.max_per_channel", f.MaxPerChannel)
	switch f.Permission {
	case "manage_channels", "manage_guild", "administrator", "everyone":
	default:
		bad("follows.permission", "must be manage_channels, manage_guild, administrator or everyone, got %q", f.Permission)
	}
	for i, s := range f.Sources {
		if s.Site == "" {
			bad(fmt.Sprintf("follows.source[%d].site", i), "is empty")
		}
		if s.Interval.Duration < time.Second {
			bad(fmt.Sprintf("follows.source[%d].interval", i), "must be at least 1s, got %s", s.Interval.Duration)
		}
	}
}
