package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/internal/humanize"
)

// partSize is the size of the parts a result is built in for an
// attachment limit: the upload budget, or the operator's
// [output] max_file_bytes when that is smaller.
func (b *Bot) partSize(limit int64) int64 {
	size := uploadBudget(limit)
	if c := b.env.PDF.MaxFileBytes; c > 0 && c < size {
		size = c
	}
	return size
}

// uploadBudget is the largest file worth trying under an attachment limit:
// the multipart envelope and JSON payload need room too.
func uploadBudget(limit int64) int64 {
	margin := max(limit/50, 4<<10)
	if margin > 256<<10 {
		margin = 256 << 10
	}
	return limit - margin
}

// uploadTimeout bounds the upload of size bytes.
func (b *Bot) uploadTimeout(size int64) time.Duration {
	return b.cfg.UploadTimeout + time.Duration(size*int64(time.Second)/b.cfg.UploadMinRate)
}

// uploadClient has a timeout sized to the upload.
func (b *Bot) uploadClient(size int64) *http.Client {
	return &http.Client{Transport: b.tr, Timeout: b.uploadTimeout(size)}
}

func openFiles(files []outFile) ([]*discordgo.File, func(), error) {
	var out []*discordgo.File
	var closers []io.Closer
	done := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			done()
			return nil, nil, err
		}
		closers = append(closers, fh)
		out = append(out, &discordgo.File{Name: f.name, ContentType: "application/pdf", Reader: fh})
	}
	return out, done, nil
}

// upload attaches the files: one file to the final status edit; several
// as one message each after it. When the interaction token is (or goes)
// dead, messages go to the channel with the bot token.
func (d *delivery) upload(w *watcher, files []outFile) error {
	b := d.b
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = fmt.Sprintf("📄 %s (%s)", f.name, humanize.Bytes(f.size))
	}
	v := d.doneView(w, strings.Join(names, "\n"))
	// The token must outlive the whole upload, not only its start.
	if len(files) == 1 && d.j.isDelivered(w.i.ID+"/"+files[0].name) {
		return nil
	}
	if len(files) == 1 && !w.st.tokenDeadFor(b.uploadTimeout(files[0].size)) {
		f := files[0]
		var msg *discordgo.Message
		err := b.retry(func(ctx context.Context) error {
			fs, done, err := openFiles(files)
			if err != nil {
				return err
			}
			defer done()
			att := []*discordgo.MessageAttachment{}
			msg, err = b.s.InteractionResponseEdit(w.i, &discordgo.WebhookEdit{Content: &v.Content, Embeds: &v.Embeds,
				Components: &v.Components, Files: fs, Attachments: &att},
				discordgo.WithClient(b.uploadClient(f.size)), discordgo.WithContext(ctx))
			return err
		})
		if err == nil {
			id := ""
			if msg != nil {
				id = msg.ID
			}
			d.j.markDelivered(w.i.ID+"/"+f.name, id)
			return nil
		}
		if !isTokenErr(err) {
			return err
		}
		w.st.markDead()
		v = d.doneView(w, strings.Join(names, "\n"))
	}
	// Final status first (without files), then one message per file.
	b.finalEdit(w, v)
	for i, f := range files {
		label := fmt.Sprintf("📄 **%s**", trunc(d.j.plan.Title, 200))
		if len(files) > 1 {
			label += fmt.Sprintf(" — part %d of %d", i+1, len(files))
		}
		one := files[i : i+1]
		key := w.i.ID + "/" + f.name
		if d.j.isDelivered(key) {
			continue // sent before a restart
		}
		var msg *discordgo.Message
		err := b.retry(func(ctx context.Context) error {
			opts := []discordgo.RequestOption{discordgo.WithClient(b.uploadClient(f.size)), discordgo.WithContext(ctx)}
			if !w.st.tokenDeadFor(b.uploadTimeout(f.size)) {
				fs, done, err := openFiles(one)
				if err != nil {
					return err
				}
				msg, err = b.s.FollowupMessageCreate(w.i, true, &discordgo.WebhookParams{Content: label, Files: fs}, opts...)
				done()
				if err == nil || !isTokenErr(err) {
					return err
				}
				w.st.markDead()
			}
			fs, done, err := openFiles(one)
			if err != nil {
				return err
			}
			defer done()
			msg, err = b.s.ChannelMessageSendComplex(w.i.ChannelID, &discordgo.MessageSend{
				Content: "<@" + w.userID + "> " + label, Files: fs,
				AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{w.userID}},
			}, opts...)
			return err
		})
		if err != nil {
			return err
		}
		id := ""
		if msg != nil {
			id = msg.ID
		}
		d.j.markDelivered(key, id)
	}
	return nil
}
