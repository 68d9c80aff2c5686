package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
)

// commands is the /manga command tree.
func commands() []*discordgo.ApplicationCommand {
	return []*discordgo.ApplicationCommand{{
		Name:        "manga",
		Description: "Turn a manga chapter link into a PDF, CBZ or EPUB",
		Options: []*discordgo.ApplicationCommandOption{
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
				},
			},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "sites", Description: "List the supported sites"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "jobs", Description: "Your jobs and their queue positions"},
		},
	}}
}

func userOf(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
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
		default:
			b.ephemeral(i, "Unknown command.")
		}
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(i)
	case discordgo.InteractionMessageComponent:
		id := i.MessageComponentData().CustomID
		if jobID, ok := strings.CutPrefix(id, "cancel:"); ok {
			b.cancelButton(i, jobID)
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

func optString(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) string {
	for _, o := range opts {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionString {
			return strings.TrimSpace(o.StringValue())
		}
	}
	return ""
}

func (b *Bot) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

func (b *Bot) cmdDownload(i *discordgo.Interaction, opts []*discordgo.ApplicationCommandInteractionDataOption, limit int64, at time.Time) {
	if b.isClosing() {
		b.ephemeral(i, "⚠️ The bot is shutting down; try again in a moment.")
		return
	}
	req := pipeline.Request{
		URL:      optString(opts, "url"),
		Quality:  optString(opts, "quality"),
		Language: optString(opts, "language"),
		Chapters: optString(opts, "chapters"),
		Format:   optString(opts, "format"),
	}
	// The default named, so that asking for it and asking for nothing
	// share one download.
	if req.Format == "" {
		req.Format = string(b.env.Format)
	}
	// Cheap checks first, so bad input never becomes a job.
	u, err := sites.ParseURL(req.URL)
	if err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	if _, _, err := b.env.Sites.Match(u); err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	userID := userOf(i)
	if wait := b.quota.cooldown(userID); wait > 0 {
		b.ephemeral(i, fmt.Sprintf("⏳ You are on cooldown: you can ask for another download in %s.", fmtWait(wait)))
		return
	}
	w := &watcher{userID: userID, i: i, at: at, limit: limit}
	key := req.Key()

	// An identical request in flight: share it.
	b.mu.Lock()
	shared := b.byKey[key]
	if shared == nil {
		if err := b.limitErrLocked(userID, i.GuildID); err != nil {
			b.mu.Unlock()
			b.ephemeral(i, "❌ "+err.Error())
			return
		}
	}
	b.mu.Unlock()
	if shared != nil {
		b.attach(i, w, shared.plan, key, true)
		return
	}

	// Resolve; answer within the 3 s window either way.
	type res struct {
		p   *pipeline.Plan
		err error
	}
	ch := make(chan res, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ResolveTimeout)
		defer cancel()
		p, err := b.env.Resolve(ctx, req)
		ch <- res{p, err}
	}()
	t := time.NewTimer(b.cfg.ResolveWait)
	defer t.Stop()
	deferred := false
	var r res
	select {
	case r = <-ch:
	case <-t.C:
		deferred = true
		b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		r = <-ch
	}
	if r.err != nil {
		b.answerError(i, "❌ "+publicErr(r.err), deferred)
		return
	}
	b.attach(i, w, r.p, key, !deferred)
}

// answerError shows an error to the user only: an ephemeral response, or,
// after a deferred (public) response, by deleting that response and
// sending an ephemeral followup.
func (b *Bot) answerError(i *discordgo.Interaction, msg string, deferred bool) {
	if !deferred {
		b.ephemeral(i, msg)
		return
	}
	if err := b.s.InteractionResponseDelete(i); err != nil {
		b.log.Warn("deleting the deferred response failed", "err", err)
	}
	if _, err := b.s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: trunc(msg, 2000), Flags: discordgo.MessageFlagsEphemeral}); err != nil {
		b.log.Warn("error followup failed", "err", err)
	}
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return trunc(s, 300)
}

// attach enqueues (or joins) a job and shows its status message. respond
// says the interaction is not yet acknowledged.
func (b *Bot) attach(i *discordgo.Interaction, w *watcher, plan *pipeline.Plan, key string, respond bool) {
	var j *job
	extra := ""
	w.st = b.newStatus(w, func() view { return j.view(extra) })
	// Once enqueued, w may get the job's result at any moment (a job it
	// joined may be ending): delivery waits until the response is out.
	w.st.pending()
	defer w.st.markShown()
	j, shared, err := b.enqueue(plan, key, w)
	if err != nil {
		b.answerError(i, "❌ "+publicErr(err), !respond)
		return
	}
	b.quota.accepted(w.userID)
	if shared {
		extra = "🔗 The same request is already in progress; you will get its result here too."
	}
	// On disk before anyone is told: a crash after the response must not
	// lose the request (nor this watcher of a shared job).
	b.persistLive(j)
	v := j.view(extra)
	if respond {
		err = b.s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: v.Content, Embeds: v.Embeds, Components: v.Components}})
	} else {
		var m *discordgo.Message
		m, err = b.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &v.Content, Embeds: &v.Embeds, Components: &v.Components})
		if err == nil {
			w.st.learn(m, v)
		}
	}
	if err != nil {
		// The requester sees nothing of this job: it must not go on
		// invisibly (unless others share it).
		w.logger(b).Warn("status message failed; the request is dropped", "err", err)
		b.abandon(j, w) // before markShown: a waiting delivery skips w
		return
	}
	if respond {
		// Learn the message id, so the status can still be edited with
		// the bot token once the interaction token is gone.
		if m, err := b.s.InteractionResponse(i); err == nil {
			w.st.learn(m, v)
		}
	}
	w.st.markShown()
	w.st.start(v)
	b.persistLive(j) // with the status message's id
	if shared {
		w.logger(b).Info("request joined a job in progress")
		return
	}
	j.log.Info("job queued", "user", w.userID, "guild", j.guildID, "site", plan.Site, "title", plan.Title,
		"pages", plan.Pages, "from_cache", j.fromCache)
	if j.fromCache {
		go b.runCached(j)
		return
	}
	b.schedule()
}

// abandon drops watcher w, whose status message could not be shown, and
// the job with it when nobody else watches it.
func (b *Bot) abandon(j *job, w *watcher) {
	j.mu.Lock()
	w.left = true
	others := 0
	for _, o := range j.watchers {
		if !o.left {
			others++
		}
	}
	j.mu.Unlock()
	if others > 0 {
		b.persistLive(j)
		return
	}
	j.log.Info("job dropped: its status message could not be shown")
	if j.fromCache {
		// Not queued and not started (runCached is not called).
		j.cancel(errCanceled)
		go j.finish(nil, errCanceled, false)
		return
	}
	j.stop(errCanceled)
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
	for _, o := range d.Options {
		for _, so := range o.Options {
			if so.Focused && so.Name == "url" {
				q = strings.TrimSpace(so.StringValue())
			}
		}
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	if len(q) >= 2 && !strings.Contains(q, "://") {
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
					choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: trunc(r.Title+" ("+info.Name+")", 100), Value: r.URL})
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

// cancelButton handles "cancel:<job>": the requester or a member with
// Manage Messages may cancel; others are refused and the job goes on.
func (b *Bot) cancelButton(i *discordgo.Interaction, jobID string) {
	b.mu.Lock()
	j := b.jobs[jobID]
	b.mu.Unlock()
	if j == nil {
		b.ephemeral(i, "That job has already finished.")
		return
	}
	userID := userOf(i)
	mod := i.Member != nil && i.Member.Permissions&(discordgo.PermissionManageMessages|discordgo.PermissionAdministrator) != 0
	j.mu.Lock()
	if j.state != stateQueued && j.state != stateRunning {
		j.mu.Unlock()
		b.ephemeral(i, "That job has already finished.")
		return
	}
	var mine *watcher
	var active []*watcher
	for _, w := range j.watchers {
		if w.left {
			continue
		}
		active = append(active, w)
		if w.userID == userID && mine == nil {
			mine = w
		}
	}
	if mine == nil && !mod {
		j.mu.Unlock()
		b.ephemeral(i, "🚫 Only the person who asked for this download, or a member with Manage Messages, can cancel it.")
		return
	}
	// A moderator acts for their own server only: the whole job is
	// cancelled when every remaining requester is in that server, else
	// only that server's requesters leave it.
	var leaving []*watcher
	whole := false
	switch {
	case mod:
		whole = true
		for _, w := range active {
			if w.i.GuildID != i.GuildID {
				whole = false
			} else {
				leaving = append(leaving, w)
			}
		}
	case len(active) <= 1:
		whole = true
	default:
		leaving = []*watcher{mine}
	}
	if !whole && len(leaving) == 0 {
		j.mu.Unlock()
		b.ephemeral(i, "Nobody in this server is waiting for that download any more.")
		return
	}
	if whole {
		j.canceler = userID
	} else {
		for _, w := range leaving {
			w.left = true
		}
	}
	j.mu.Unlock()
	if whole {
		// Stopped before the click is acknowledged: once it is, the job
		// fetches nothing more.
		j.log.Info("job cancelled", "by", userID)
		j.stop(errCanceled)
		b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
		return
	}
	b.respond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
	// These requesters leave a shared job; it goes on for the others.
	j.log.Info("requesters left a shared job", "by", userID, "left", len(leaving))
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, w := range leaving {
			w.st.close()
			msg := "🛑 You left this shared download; it goes on for the others."
			if w.userID != userID {
				msg = "🛑 Cancelled in this server by <@" + userID + ">; the download goes on for others."
			}
			v := view{Content: msg, Embeds: []*discordgo.MessageEmbed{}, Components: []discordgo.MessageComponent{}}
			b.finalEdit(w, v)
		}
	}()
}
