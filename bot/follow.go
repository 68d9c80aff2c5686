package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/store"
)

// followCommands are the /manga follow, unfollow and following
// subcommands.
func followCommands() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "follow",
			Description: "Post each new chapter of a series in a channel",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "url", Description: "Series link (MangaDex title, WEBTOON list, ...)", Required: true},
				{Type: discordgo.ApplicationCommandOptionChannel, Name: "channel", Description: "Where new chapters go (default: here)",
					ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews}},
				{Type: discordgo.ApplicationCommandOptionString, Name: "language", Description: "Translation language, e.g. en"},
				{Type: discordgo.ApplicationCommandOptionString, Name: "groups", Description: "Only chapters of these scanlation groups (comma-separated)"},
				{Type: discordgo.ApplicationCommandOptionString, Name: "deliver", Description: "Announce with a Download button, or post the file",
					Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "announce", Value: "announce"}, {Name: "pdf", Value: "pdf"}, {Name: "cbz", Value: "cbz"}}},
			},
		},
		{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "unfollow", Description: "Stop following a series",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "series", Description: "A follow of this server", Required: true, Autocomplete: true},
			},
		},
		{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "following", Description: "The series this server follows"},
	}
}

// followPermission is the permission bit [follows] permission names; 0:
// everyone.
func followPermission(name string) int64 {
	switch name {
	case "manage_guild":
		return discordgo.PermissionManageGuild
	case "administrator":
		return discordgo.PermissionAdministrator
	case "everyone":
		return 0
	}
	return discordgo.PermissionManageChannels
}

// mayFollow says whether the member may change the guild's follows.
func (b *Bot) mayFollow(i *discordgo.Interaction) bool {
	need := followPermission(b.cfg.Follows.Permission)
	if need == 0 {
		return true
	}
	if i.Member == nil {
		return false
	}
	p := i.Member.Permissions
	return p&discordgo.PermissionAdministrator != 0 || p&need == need
}

// mayChange answers the member and returns false unless follows work
// here and the member may change them (verb: "follow", "unfollow").
func (b *Bot) mayChange(i *discordgo.Interaction, verb string) bool {
	if !b.followsReady(i) {
		return false
	}
	if !b.mayFollow(i) {
		b.ephemeral(i, "❌ You need the "+strings.ReplaceAll(b.cfg.Follows.Permission, "_", " ")+" permission to "+verb+" series here.")
		return false
	}
	return true
}

func (b *Bot) followsReady(i *discordgo.Interaction) bool {
	if b.follows == nil {
		b.ephemeral(i, "❌ Follows need the job store ([storage] path); this bot runs without one.")
		return false
	}
	if i.GuildID == "" {
		b.ephemeral(i, "❌ Follows post in a server's channel; use this command in a server.")
		return false
	}
	return true
}

func (b *Bot) cmdFollow(i *discordgo.Interaction, opts []*discordgo.ApplicationCommandInteractionDataOption) {
	if !b.mayChange(i, "follow") {
		return
	}
	f := store.Follow{Guild: i.GuildID, Channel: i.ChannelID, By: userOf(i),
		Language: optString(opts, "language"), Deliver: optString(opts, "deliver")}
	for _, o := range opts {
		if o.Name == "channel" && o.Type == discordgo.ApplicationCommandOptionChannel {
			f.Channel = o.ChannelValue(nil).ID
		}
	}
	for _, g := range strings.Split(optString(opts, "groups"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			f.Groups = append(f.Groups, g)
		}
	}
	switch f.Deliver {
	case "", "announce", "pdf", "cbz":
	default:
		b.ephemeral(i, "❌ deliver must be announce, pdf or cbz.")
		return
	}
	link := optString(opts, "url")
	if err := b.follows.Followable(link); err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	all, err := b.st.Follows(func(x *store.Follow) bool { return x.Guild == i.GuildID })
	if err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	inChannel := 0
	for _, x := range all {
		if x.Channel == f.Channel {
			inChannel++
			if x.URL == strings.TrimSpace(link) {
				b.ephemeral(i, fmt.Sprintf("ℹ️ <#%s> already follows %s.", f.Channel, x.Title))
				return
			}
		}
	}
	if len(all) >= b.cfg.Follows.MaxPerGuild {
		b.ephemeral(i, fmt.Sprintf("❌ This server follows %d series, the most it may; unfollow one first.", len(all)))
		return
	}
	if inChannel >= b.cfg.Follows.MaxPerChannel {
		b.ephemeral(i, fmt.Sprintf("❌ <#%s> follows %d series, the most one channel may.", f.Channel, inChannel))
		return
	}
	// Listing takes a request or two: answer later.
	b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}})
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ResolveTimeout)
	defer cancel()
	f, err = b.follows.Add(ctx, link, f)
	msg := ""
	if err != nil {
		msg = "❌ " + publicErr(err)
	} else {
		b.log.Info("follow added", "follow", f.ID, "guild", f.Guild, "channel", f.Channel, "site", f.Site, "url", f.URL)
		msg = fmt.Sprintf("✅ Following **%s** in <#%s>: new chapters will be posted there (%s).", f.Title, f.Channel, f.Deliver)
		if f.Last != "" {
			msg += "\nLatest now: " + f.Last
		}
	}
	msg = trunc(msg, 2000)
	if _, err := b.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &msg}); err != nil {
		b.log.Warn("follow answer failed", "err", err)
	}
}

func (b *Bot) cmdUnfollow(i *discordgo.Interaction, opts []*discordgo.ApplicationCommandInteractionDataOption) {
	if !b.mayChange(i, "unfollow") {
		return
	}
	want := optString(opts, "series")
	fs, err := b.st.Follows(func(f *store.Follow) bool { return f.Guild == i.GuildID && (f.ID == want || f.URL == want) })
	if err != nil || len(fs) == 0 {
		b.ephemeral(i, "❌ This server does not follow that; see /manga following.")
		return
	}
	for _, f := range fs {
		if err := b.follows.Remove(f.ID); err != nil {
			b.ephemeral(i, "❌ "+publicErr(err))
			return
		}
		b.log.Info("follow removed", "follow", f.ID, "guild", f.Guild, "url", f.URL)
	}
	b.ephemeral(i, fmt.Sprintf("✅ Unfollowed **%s**.", fs[0].Title))
}

// followChoices offers the guild's follows for /manga unfollow.
func (b *Bot) followChoices(i *discordgo.Interaction, q string) []*discordgo.ApplicationCommandOptionChoice {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	if b.st == nil {
		return choices
	}
	q = strings.ToLower(q)
	fs, _ := b.st.Follows(func(f *store.Follow) bool {
		return f.Guild == i.GuildID && (q == "" || strings.Contains(strings.ToLower(f.Title+" "+f.URL), q))
	})
	for _, f := range fs {
		if len(choices) == 25 {
			break
		}
		name := f.Title
		if ch := b.channelName(f.Channel); ch != "" {
			name += " → #" + ch
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: trunc(name, 100), Value: f.ID})
	}
	return choices
}

// channelName is a channel's name from the gateway state, "" when unknown.
func (b *Bot) channelName(id string) string {
	if b.s.State == nil {
		return ""
	}
	if c, err := b.s.State.Channel(id); err == nil {
		return c.Name
	}
	return ""
}

func (b *Bot) cmdFollowing(i *discordgo.Interaction) {
	if !b.followsReady(i) {
		return
	}
	fs, err := b.st.Follows(func(f *store.Follow) bool { return f.Guild == i.GuildID })
	if err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	e := &discordgo.MessageEmbed{Title: "Followed series"}
	if len(fs) == 0 {
		e.Description = "This server follows no series. Add one with /manga follow."
	}
	for _, f := range fs {
		if len(e.Fields) == 25 {
			e.Footer = &discordgo.MessageEmbedFooter{Text: fmt.Sprintf("and %d more", len(fs)-25)}
			break
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s · <#%s> · %s", f.Site, f.Channel, f.Deliver)
		if f.Language != "" {
			sb.WriteString(" · " + f.Language)
		}
		if len(f.Groups) > 0 {
			sb.WriteString(" · groups: " + strings.Join(f.Groups, ", "))
		}
		if f.Last != "" {
			fmt.Fprintf(&sb, "\nLast seen: [%s](%s)", trunc(f.Last, 200), f.LastURL)
		}
		switch {
		case f.Paused != "":
			sb.WriteString("\n⏸️ Paused: " + f.Paused)
		default:
			fmt.Fprintf(&sb, "\nNext check <t:%d:R>", f.NextCheck.Unix())
			if f.LastError != "" {
				sb.WriteString(" (last check failed: " + trunc(f.LastError, 200) + ")")
			}
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: trunc(f.Title, 256), Value: trunc(fmt.Sprintf("[link](%s) · %s", f.URL, sb.String()), 1024)})
	}
	b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral, Embeds: []*discordgo.MessageEmbed{e}}})
}

// newFollows builds the poller of the guilds' follows (before the
// gateway opens: commands may use it at once).
func (b *Bot) newFollows() {
	if b.st == nil {
		return
	}
	d := &poster{b: b, started: time.Now()}
	b.follows = follow.New(follow.Options{
		Store: b.st, Env: b.env, Config: b.cfg.Follows, Deliver: d, Observe: b.followMetrics(),
		Log: b.log, Keep: func(f *store.Follow) bool { return f.Channel != "" && b.ownsGuild(f.Guild) }, Hook: b.cfg.FollowHook,
	})
}

// startFollows runs the poller until ctx ends (after the gateway is up:
// it posts).
func (b *Bot) startFollows(ctx context.Context) {
	if b.follows == nil {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.follows.Run(ctx)
	}()
}

func (b *Bot) followMetrics() follow.Observer {
	return b.m.Follows(func() (active, paused int) {
		fs, _ := b.st.Follows(nil)
		for _, f := range fs {
			if f.Paused != "" {
				paused++
			} else {
				active++
			}
		}
		return active, paused
	})
}

// onGuildDelete pauses the follows of a guild the bot left (or was
// removed from); an outage (Unavailable) pauses nothing.
func (b *Bot) onGuildDelete(_ *discordgo.Session, g *discordgo.GuildDelete) {
	if b.follows == nil || g.Guild == nil || g.Unavailable {
		return
	}
	n, err := b.follows.Pause(func(f *store.Follow) bool { return f.Guild == g.ID }, "the bot left this server")
	if err != nil || n > 0 {
		b.log.Warn("follows of a left server paused", "guild", g.ID, "follows", n, "err", err)
	}
}

// followKey is the custom_id of a found chapter's Download button.
func followKey(c store.Found) string { return "fdl:" + c.Follow + ":" + strconv.FormatUint(c.Seq, 10) }
