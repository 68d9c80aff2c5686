package bot

import (
	"github.com/bwmarrin/discordgo"
)

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
