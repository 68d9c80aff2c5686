package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
)

func userOf(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

// option is the named option of type typ, or nil.
func option(opts []*discordgo.ApplicationCommandInteractionDataOption, name string, typ discordgo.ApplicationCommandOptionType) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range opts {
		if o.Name == name && o.Type == typ {
			return o
		}
	}
	return nil
}

func optString(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) string {
	if o := option(opts, name, discordgo.ApplicationCommandOptionString); o != nil {
		return strings.TrimSpace(o.StringValue())
	}
	return ""
}

func optBool(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) bool {
	o := option(opts, name, discordgo.ApplicationCommandOptionBoolean)
	return o != nil && o.BoolValue()
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
		Fit:      optString(opts, "fit"),
		Strip:    optBool(opts, "strip"),
	}
	// The default named, so that asking for it and asking for nothing
	// share one download.
	if req.Format == "" {
		req.Format = string(b.env.Format)
	}
	// Cheap checks first, so bad input never becomes a job.
	if req.Fit == pipeline.FitLink && b.links == nil {
		b.ephemeral(i, "❌ This server has no download links set up; use fit: shrink or parts.")
		return
	}
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
