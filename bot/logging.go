package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"
)

// discordgo logs through a package variable; it is pointed (once) at the
// redacting logger of the latest bot, so its messages (which name request
// URLs) are scrubbed too.
var (
	dgLog     atomic.Pointer[slog.Logger]
	dgLogOnce sync.Once
)

func routeDiscordgoLogs(l *slog.Logger) {
	dgLog.Store(l)
	dgLogOnce.Do(func() {
		discordgo.Logger = func(level, _ int, format string, a ...any) {
			l := dgLog.Load()
			if l == nil {
				return
			}
			lv := slog.LevelDebug
			switch level {
			case discordgo.LogError:
				lv = slog.LevelError
			case discordgo.LogWarning:
				lv = slog.LevelWarn
			case discordgo.LogInformational:
				lv = slog.LevelInfo
			}
			l.Log(context.Background(), lv, "discordgo: "+stripURLs(fmt.Sprintf(format, a...)))
		}
	})
}
