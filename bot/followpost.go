package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/store"
)

// poster delivers the chapters follows find into their channels.
type poster struct {
	b       *Bot
	started time.Time // chapters found before this were left by an earlier process
}

// followMessage is a channel message with the nonce fields discordgo's
// MessageSend lacks: with enforce_nonce Discord returns the message
// already created with that nonce (within a few minutes) instead of
// creating a second one.
type followMessage struct {
	Embeds       []*discordgo.MessageEmbed    `json:"embeds"`
	Components   []discordgo.MessageComponent `json:"components"`
	Nonce        string                       `json:"nonce"`
	EnforceNonce bool                         `json:"enforce_nonce"`
}

// Deliver posts chapter c of follow f: an announcement with a Download
// button, with the file attached when f delivers PDFs.
func (p *poster) Deliver(ctx context.Context, f store.Follow, c store.Found) (string, error) {
	b := p.b
	if c.FoundAt.Before(p.started) {
		// Left pending by a process that may have posted it before it
		// died: look in the channel first.
		// Without Read Message History the look fails: the nonce is
		// then the only guard (it covers restarts within minutes).
		if id, err := p.posted(f.Channel, c); err != nil {
			b.log.Warn("could not look for an earlier post of a follow chapter", "follow", f.ID, "channel", f.Channel, "err", err)
		} else if id != "" {
			b.log.Info("follow chapter was already posted", "follow", f.ID, "chapter", c.Key, "message", id)
			return id, nil
		}
	}
	msg := followMessage{
		Embeds:       []*discordgo.MessageEmbed{announcement(f, c)},
		Components:   []discordgo.MessageComponent{downloadRow(c)},
		Nonce:        nonce(c),
		EnforceNonce: true,
	}
	var files []*discordgo.File
	if f.Deliver == "pdf" || f.Deliver == "cbz" {
		var cleanup func()
		var note string
		files, cleanup, note = p.render(ctx, f, c)
		defer cleanup()
		if note != "" {
			msg.Embeds[0].Description += "\n" + note
		}
	}
	ep := discordgo.EndpointChannelMessages(f.Channel)
	var raw []byte
	var err error
	if len(files) == 0 {
		raw, err = b.s.RequestWithBucketID("POST", ep, msg, ep)
	} else {
		var ct string
		var body []byte
		if ct, body, err = discordgo.MultipartBodyWithJSON(msg, files); err == nil {
			raw, err = b.s.RequestWithLockedBucket("POST", ep, ct, body, b.s.Ratelimiter.LockBucket(ep), 0)
		}
	}
	if err != nil {
		return "", gone(err)
	}
	var m discordgo.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("post chapter: %w", err)
	}
	b.log.Info("follow chapter posted", "follow", f.ID, "channel", f.Channel, "chapter", c.Key, "message", m.ID, "files", len(files))
	return m.ID, nil
}

// gone marks Discord's answers that will not change (deleted channel, no
// access, left guild) as follow.ErrGone.
func gone(err error) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		switch re.Message.Code {
		case discordgo.ErrCodeUnknownChannel, discordgo.ErrCodeUnknownGuild, discordgo.ErrCodeMissingAccess, discordgo.ErrCodeMissingPermissions:
			return fmt.Errorf("%w: %s (Discord code %d)", follow.ErrGone, re.Message.Message, re.Message.Code)
		}
	}
	return fmt.Errorf("post chapter: %w", err)
}

// posted looks for a message of the bot carrying c's Download button in
// the channel's latest messages.
func (p *poster) posted(channel string, c store.Found) (string, error) {
	ms, err := p.b.s.ChannelMessages(channel, 50, "", "", "")
	if err != nil {
		return "", err
	}
	want := followKey(c)
	for _, m := range ms {
		raw, _ := json.Marshal(m.Components)
		if strings.Contains(string(raw), `"`+want+`"`) {
			return m.ID, nil
		}
	}
	return "", nil
}

// nonce is c's message nonce (Discord allows 25 characters).
func nonce(c store.Found) string {
	s := fmt.Sprintf("f%.12s%d", c.Follow, c.Seq)
	return s[:min(len(s), 25)]
}

func announcement(f store.Follow, c store.Found) *discordgo.MessageEmbed {
	title := pipeline.ChapterTitle(&sites.Chapter{Series: c.Series, Volume: c.Volume, Number: c.Number, Title: c.Title, SourceURL: c.URL})
	e := &discordgo.MessageEmbed{
		Title:       trunc("📖 "+title, 256),
		URL:         c.URL,
		Description: trunc(fmt.Sprintf("New chapter of **%s**.", c.Series), 4000),
		Footer:      &discordgo.MessageEmbedFooter{Text: trunc(f.Site+" · /manga unfollow to stop", 2048)},
	}
	if c.Number != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Chapter", Value: c.Number, Inline: true})
	}
	if c.Group != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Group", Value: trunc(c.Group, 1024), Inline: true})
	}
	if c.Language != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Language", Value: c.Language, Inline: true})
	}
	return e
}

func downloadRow(c store.Found) discordgo.ActionsRow {
	return discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Download", Style: discordgo.PrimaryButton, CustomID: followKey(c), Emoji: &discordgo.ComponentEmoji{Name: "📥"}},
		discordgo.Button{Label: "Read", Style: discordgo.LinkButton, URL: c.URL},
	}}
}

// render makes c's file (PDF or CBZ, as the follow asks) for a pdf or cbz
// follow. When it cannot be attached (too
// big, failed) the announcement goes out alone with a note, so the
// chapter is still announced once.
func (p *poster) render(ctx context.Context, f store.Follow, c store.Found) ([]*discordgo.File, func(), string) {
	b := p.b
	dir, err := os.MkdirTemp(b.jobDir, "follow-")
	if err != nil {
		return nil, func() {}, ""
	}
	cleanup := func() { os.RemoveAll(dir) }
	plan, err := b.env.Resolve(ctx, pipeline.Request{URL: c.URL, Language: f.Language, Format: f.Deliver})
	var out *pipeline.Output
	if err == nil {
		// On a cluster's worker too, like any job.
		id := "follow-" + newID()
		if out, err = b.runner.RunJob(ctx, id, plan, b.env.PDF.MaxFileBytes, pipeline.RunOptions{Dir: dir}); err == nil {
			b.handOver(id)
		}
	}
	if err != nil {
		b.log.Warn("follow file failed; announcing only", "follow", f.ID, "chapter", c.Key, "err", err)
		return nil, cleanup, "⚠️ The " + strings.ToUpper(f.Deliver) + " could not be made (" + publicErr(err) + "); press Download to try."
	}
	var files []*discordgo.File
	var size int64
	for _, name := range out.Files {
		st, err := os.Stat(name)
		if err != nil {
			continue
		}
		size += st.Size()
		fh, err := os.Open(name)
		if err != nil {
			continue
		}
		files = append(files, &discordgo.File{Name: filepath.Base(name), ContentType: book.MediaType(name), Reader: fh})
	}
	if size > b.cfg.DefaultAttachmentLimit {
		return nil, cleanup, "📦 The " + strings.ToUpper(f.Deliver) + " is larger than this server's upload limit; press Download to get it."
	}
	return files, cleanup, ""
}

// followDownload starts a normal download job of a found chapter for
// whoever pressed its Download button.
func (b *Bot) followDownload(i *discordgo.Interaction, key string, limit int64, at time.Time) {
	id, seq, ok := strings.Cut(key, ":")
	if !ok || b.st == nil {
		b.ephemeral(i, "❌ This button is no longer valid.")
		return
	}
	found, err := b.st.FoundOf(id, false)
	if err != nil {
		b.ephemeral(i, "❌ "+publicErr(err))
		return
	}
	for _, c := range found {
		if fmt.Sprint(c.Seq) == seq {
			f, _, _ := b.st.GetFollow(id)
			opts := []*discordgo.ApplicationCommandInteractionDataOption{{Name: "url", Type: discordgo.ApplicationCommandOptionString, Value: c.URL}}
			if f.Language != "" {
				opts = append(opts, &discordgo.ApplicationCommandInteractionDataOption{Name: "language", Type: discordgo.ApplicationCommandOptionString, Value: f.Language})
			}
			b.cmdDownload(i, opts, limit, at)
			return
		}
	}
	b.ephemeral(i, "❌ This announcement is too old or its series is no longer followed here; use /manga download with the chapter's link.")
}
