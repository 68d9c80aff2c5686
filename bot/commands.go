package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/internal/sanitize"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
)

// commands is the /manga command tree.
func commands() []*discordgo.ApplicationCommand {
	return []*discordgo.ApplicationCommand{{
		Name:        "manga",
		Description: "Turn a manga chapter link into a PDF, CBZ or EPUB",
		Options: append([]*discordgo.ApplicationCommandOption{
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "download",
				Description: "Download a chapter (or chapters of a series) as PDF, CBZ or EPUB",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "url", Description: "Chapter or series link (or a title to search)", Required: true, Autocomplete: true},
					{Type: discordgo.ApplicationCommandOptionString, Name: "format", Description: "File format (default: the server's, usually PDF)",
						Choices: []*discordgo.ApplicationCommandOptionChoice{
							{Name: "PDF", Value: "pdf"}, {Name: "CBZ (comic readers: Komga, Kavita, Mihon)", Value: "cbz"}, {Name: "EPUB (e-book readers)", Value: "epub"}}},
					{Type: discordgo.ApplicationCommandOptionString, Name: "quality", Description: "Image quality",
						Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "original", Value: "original"}, {Name: "data-saver", Value: "data-saver"}}},
					{Type: discordgo.ApplicationCommandOptionString, Name: "language", Description: "Translation language, e.g. en"},
					{Type: discordgo.ApplicationCommandOptionString, Name: "chapters", Description: "Chapters of a series link: 1-5, 12, last, all"},
					{Type: discordgo.ApplicationCommandOptionString, Name: "fit", Description: "If the file is over the upload limit",
						Choices: []*discordgo.ApplicationCommandOptionChoice{
							{Name: "shrink: one smaller file (re-encoded pages)", Value: pipeline.FitShrink},
							{Name: "parts: split into several files", Value: pipeline.FitParts},
							{Name: "link: a download link", Value: pipeline.FitLink},
						}},
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: "strip", Description: "Webtoon: stitch the images into one strip, cut into pages at blank gaps"},
				},
			},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "sites", Description: "List the supported sites"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "jobs", Description: "Your jobs and their queue positions"},
		}, followCommands()...),
	}}
}

// register learns the application id (from READY, else by asking) and
// sets the commands: in the configured guilds, or globally.
func (b *Bot) register() error {
	if b.s.State != nil {
		b.s.State.RLock()
		if b.s.State.Application != nil {
			b.appID = b.s.State.Application.ID
		}
		b.s.State.RUnlock()
	}
	if b.appID == "" {
		app, err := b.s.Application("@me")
		if err != nil {
			return fmt.Errorf("get application id: %w", err)
		}
		b.appID = app.ID
	}
	cmds := commands()
	if len(b.cfg.GuildIDs) == 0 {
		if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, "", cmds); err != nil {
			return fmt.Errorf("register commands: %w", err)
		}
		return nil
	}
	for _, g := range b.cfg.GuildIDs {
		if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, g, cmds); err != nil {
			return fmt.Errorf("register commands in guild %s: %w", g, err)
		}
	}
	// Commands registered globally before (without guild ids) would show
	// twice in those guilds: none are global now.
	if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, "", []*discordgo.ApplicationCommand{}); err != nil {
		return fmt.Errorf("clear global commands: %w", err)
	}
	return nil
}

// rawInteraction holds what discordgo's Interaction lacks.
type rawInteraction struct {
	AttachmentSizeLimit int64 `json:"attachment_size_limit"`
}

// attachmentLimit is the upload limit an interaction's raw payload
// carries (it depends on the server's boosts), or def when it has none.
func attachmentLimit(raw []byte, def int64) int64 {
	var ri rawInteraction
	if err := json.Unmarshal(raw, &ri); err != nil || ri.AttachmentSizeLimit <= 0 {
		return def
	}
	return ri.AttachmentSizeLimit
}

// onEvent receives every gateway event; interactions are taken from here so
// the raw payload (attachment_size_limit) is at hand.
func (b *Bot) onEvent(_ *discordgo.Session, e *discordgo.Event) {
	if e.Type != "INTERACTION_CREATE" {
		return
	}
	ic, ok := e.Struct.(*discordgo.InteractionCreate)
	if !ok || ic.Interaction == nil {
		return
	}
	<-b.ready
	limit := attachmentLimit(e.RawData, b.cfg.DefaultAttachmentLimit)
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("interaction handler panic", "panic", r)
		}
	}()
	b.handle(ic.Interaction, limit, time.Now())
}

// handle routes one interaction.
func (b *Bot) handle(i *discordgo.Interaction, limit int64, at time.Time) {
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		d := i.ApplicationCommandData()
		if d.Name != "manga" || len(d.Options) == 0 {
			b.ephemeral(i, "Unknown command.")
			return
		}
		sub := d.Options[0]
		switch sub.Name {
		case "download":
			b.cmdDownload(i, sub.Options, limit, at)
		case "sites":
			b.cmdSites(i)
		case "jobs":
			b.cmdJobs(i)
		case "follow":
			b.cmdFollow(i, sub.Options)
		case "unfollow":
			b.cmdUnfollow(i, sub.Options)
		case "following":
			b.cmdFollowing(i)
		default:
			b.ephemeral(i, "Unknown command.")
		}
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(i)
	case discordgo.InteractionMessageComponent:
		id := i.MessageComponentData().CustomID
		if jobID, ok := strings.CutPrefix(id, "cancel:"); ok {
			b.cancelButton(i, jobID)
		} else if key, ok := strings.CutPrefix(id, "fdl:"); ok {
			b.followDownload(i, key, limit, at)
		}
	}
}

func (b *Bot) respond(i *discordgo.Interaction, r *discordgo.InteractionResponse) {
	if err := b.s.InteractionRespond(i, r); err != nil {
		b.log.Warn("interaction response failed", "err", err)
	}
}

// ephemeral answers with a one-line message only the user sees.
func (b *Bot) ephemeral(i *discordgo.Interaction, msg string) {
	b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: trunc(msg, 2000), Flags: discordgo.MessageFlagsEphemeral}})
}

func (b *Bot) cmdSites(i *discordgo.Interaction) {
	var sb strings.Builder
	for _, info := range sites.All() {
		if _, ok := b.env.Sites.Get(info.Name); !ok {
			continue
		}
		fmt.Fprintf(&sb, "**%s** — %s\n", info.Name, info.Description)
		for _, p := range info.Patterns {
			fmt.Fprintf(&sb, "• `%s`\n", p)
		}
	}
	if sb.Len() == 0 {
		sb.WriteString("No sites are enabled.")
	}
	b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral,
			Embeds: []*discordgo.MessageEmbed{{Title: "Supported sites", Description: trunc(sb.String(), 4096)}}}})
}

func (b *Bot) cmdJobs(i *discordgo.Interaction) {
	userID := userOf(i)
	b.mu.Lock()
	var mine []*job
	for _, j := range b.jobs {
		j.mu.Lock()
		for _, w := range j.watchers {
			if w.userID == userID && !w.left {
				mine = append(mine, j)
				break
			}
		}
		j.mu.Unlock()
	}
	b.mu.Unlock()
	var sb strings.Builder
	for _, j := range mine {
		pos := b.position(j)
		j.mu.Lock()
		state := "running"
		switch {
		case pos > 0:
			state = fmt.Sprintf("queued, position %d", pos)
		case j.state == stateQueued && j.resumed:
			state = "resuming after a restart"
		case j.state == stateRunning:
			state = fmt.Sprintf("running, %d/%d pages", j.prog.PagesDone, j.plan.Pages)
		case j.state != stateQueued:
			state = "finishing"
		}
		fmt.Fprintf(&sb, "`%s` %s — %s\n", j.id, trunc(j.plan.Title, 80), state)
		j.mu.Unlock()
	}
	if sb.Len() == 0 {
		sb.WriteString("You have no jobs queued or running.")
	}
	b.ephemeral(i, sb.String())
}

// autocomplete offers search results of sites that can search.
func (b *Bot) autocomplete(i *discordgo.Interaction) {
	var q string
	d := i.ApplicationCommandData()
	unfollow := false
	for _, o := range d.Options {
		for _, so := range o.Options {
			if so.Focused && (so.Name == "url" || so.Name == "series") {
				q = strings.TrimSpace(so.StringValue())
				unfollow = so.Name == "series"
			}
		}
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	if unfollow {
		choices = b.followChoices(i, q)
	} else if len(q) >= 2 && !strings.Contains(q, "://") {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, info := range sites.All() {
			h, ok := b.env.Sites.Get(info.Name)
			s, isSearcher := h.(sites.Searcher)
			if !ok || !isSearcher {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Search(ctx, b.env.SiteEnv, q)
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range res {
					if len(r.URL) > 100 || r.URL == "" {
						continue
					}
					// Titles come from the site: shown clean, as everything
					// a site says (see pipeline.Resolve).
					choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: trunc(sanitize.Text(r.Title)+" ("+info.Name+")", 100), Value: r.URL})
				}
			}()
		}
		wg.Wait()
		cancel()
	}
	if len(choices) > 25 {
		choices = choices[:25]
	}
	// Sent raw: discordgo's omitempty would drop an empty list, and Discord
	// wants "choices": [] when there is nothing to offer.
	ep := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	body := map[string]any{"type": discordgo.InteractionApplicationCommandAutocompleteResult,
		"data": map[string]any{"choices": choices}}
	if _, err := b.s.RequestWithBucketID("POST", ep, body, ep); err != nil {
		b.log.Warn("autocomplete response failed", "err", err)
	}
}
