package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/internal/fsutil"
	"github.com/mangabot/mangabot/pipeline"
)

// delivery hands a finished job's result to its watchers.
type delivery struct {
	b   *Bot
	j   *job
	out *pipeline.Output

	mu    sync.Mutex
	urls  map[string]string // published links by file
	links []string          // hard links made for publishing

	buildMu sync.Mutex
	builds  map[int64][]outFile // results rebuilt in smaller parts, by part size
	dirs    []string            // their dirs, removed by cleanup

	failed atomic.Bool // a watcher's delivery failed
}

func newDelivery(b *Bot, j *job, out *pipeline.Output) *delivery {
	return &delivery{b: b, j: j, out: out, urls: map[string]string{}, builds: map[int64][]outFile{}}
}

type outFile struct {
	path string
	name string
	size int64
}

func listFiles(paths []string) ([]outFile, error) {
	var fs []outFile
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		fs = append(fs, outFile{path: p, name: filepath.Base(p), size: st.Size()})
	}
	return fs, nil
}

func (d *delivery) files() ([]outFile, error) { return listFiles(d.out.Files) }

// What users see when delivery fails: never the error itself (Discord's
// carry interaction tokens in URLs, the file system's carry paths).
const (
	msgMissing     = "the result went missing; try again."
	msgUploadFail  = "the upload to Discord failed; try again later."
	msgPublishFail = "the file could not be published; try again later."
	msgRefused     = "Discord refused the file as too large."
	msgRebuildFail = "the result could not be split into smaller parts; try again later."
)

// fitting reports whether files can be attached under a budget per file.
func (d *delivery) fitting(files []outFile, budget int64) (fits bool, largest int64) {
	fits = len(files) <= d.b.cfg.MaxParts
	for _, f := range files {
		largest = max(largest, f.size)
		if f.size > budget {
			fits = false
		}
	}
	return fits, largest
}

// to delivers the result (or the failure) to one watcher: attached when
// it fits, else in parts (up to MaxParts) rebuilt from the kept pages,
// else (more parts would be needed, or Discord refuses what should fit)
// as links when they are configured, else the delivery fails.
func (d *delivery) to(w *watcher) {
	j := d.j
	if w.st != nil {
		// A requester who joined as the job ended: its status response
		// may not be out yet.
		w.st.waitShown(d.b.hardStop)
		j.mu.Lock()
		left := w.left
		j.mu.Unlock()
		if left {
			return // its status message could not be shown (abandon)
		}
		w.st.close()
	}
	j.mu.Lock()
	state := j.state
	j.mu.Unlock()
	if state != stateDone || d.out == nil {
		d.b.finalEdit(w, j.view(""))
		return
	}
	if j.delivering != nil && d.b.alreadyDelivered(w) {
		// Resumed after the upload to @original went through.
		w.logger(d.b).Info("resumed delivery was already done")
		return
	}
	orig, err := d.files()
	if err != nil {
		w.logger(d.b).Warn("result files missing", "err", err)
		d.fail(w, msgMissing)
		return
	}
	files := orig
	budget := d.b.partSize(w.limit)
	fits, largest := d.fitting(files, budget)
	// A cache hit has no pages to rebuild from: with links it is linked
	// rather than fetched again.
	if !fits && largest > budget && !(j.fromCache && d.b.links != nil) {
		// Built for a larger limit (this requester joined later, the
		// result came from the cache, or it is one file for a link):
		// rebuild in parts that fit, from the kept pages.
		if nf, err := d.build(budget); err != nil {
			w.logger(d.b).Warn("rebuilding smaller parts failed", "err", err)
		} else {
			files = nf
			fits, largest = d.fitting(files, budget)
		}
	}
	if fits {
		err := d.upload(w, files)
		if err == nil {
			return
		}
		w.logger(d.b).Warn("upload failed", "err", err)
		if isTooLarge(err) {
			// Discord's real limit is below what the interaction said:
			// rebuild in smaller parts and try again.
			if err = d.resplit(w, largest); err == nil {
				return
			}
			w.logger(d.b).Warn("upload of smaller parts failed", "err", err)
		}
		partsCannotHelp := isTooLarge(err) || errors.Is(err, errTooManyParts)
		if !partsCannotHelp || d.b.links == nil {
			switch {
			case isTooLarge(err):
				d.fail(w, msgRefused)
			case errors.Is(err, errTooManyParts):
				d.fail(w, fmt.Sprintf("the result is too large to attach: more than %d parts would be needed under Discord's limit.", d.b.cfg.MaxParts))
			case errors.Is(err, errRebuild):
				d.fail(w, msgRebuildFail)
			default:
				d.fail(w, msgUploadFail)
			}
			return
		}
	}
	if d.b.links != nil {
		d.link(w, orig)
		return
	}
	d.fail(w, fmt.Sprintf("the result is too large to attach: %d file(s), largest %s, limit %s per file and %d parts.",
		len(files), human(largest), human(w.limit), d.b.cfg.MaxParts))
}

// link delivers files as signed links on the status message.
func (d *delivery) link(w *watcher, files []outFile) {
	key := w.i.ID + "/links"
	if d.j.isDelivered(key) {
		return
	}
	var lines []string
	for _, f := range files {
		u, err := d.publish(f)
		if err != nil {
			w.logger(d.b).Warn("publishing a link failed", "err", err)
			d.fail(w, msgPublishFail)
			return
		}
		lines = append(lines, fmt.Sprintf("📥 [%s](%s) (%s)", f.name, u, human(f.size)))
	}
	exp := time.Now().Add(d.b.cfg.LinkTTL).Unix()
	lines = append(lines, fmt.Sprintf("Too big to attach here (limit %s); links expire <t:%d:R>.", human(w.limit), exp))
	if d.b.finalEdit(w, d.doneView(w, strings.Join(lines, "\n"))) {
		d.j.markDelivered(key, w.st.messageID())
	}
}

func (d *delivery) doneView(w *watcher, extra string) view {
	v := d.j.view(extra)
	if st := w.st; st != nil && st.tokenDead() {
		v.Content = "<@" + w.userID + ">"
	}
	return v
}

// fail shows a delivery failure on the status message: the job is shown
// as failed (not done), with msg.
func (d *delivery) fail(w *watcher, msg string) {
	d.failed.Store(true)
	d.b.finalEdit(w, d.j.failedView(msg))
}

var (
	errTooManyParts = errors.New("too many parts")
	errRebuild      = errors.New("rebuilding the result failed")
)

// build makes the result again in parts of at most maxFile bytes from the
// job's kept pages (no page is fetched when they are all there; a cache
// hit has none, and they are fetched). Builds are shared by watchers and
// removed by cleanup.
func (d *delivery) build(maxFile int64) ([]outFile, error) {
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	if fs, ok := d.builds[maxFile]; ok {
		return fs, nil
	}
	b := d.b
	dir := filepath.Join(b.jobDir, d.j.id+"-split-"+newID())
	d.dirs = append(d.dirs, dir)
	env := *b.env
	env.PDF.MaxFileBytes = maxFile
	out, err := env.Run(b.hardStop, d.j.plan, pipeline.RunOptions{Dir: dir, WorkDir: d.j.pages, KeepPages: true})
	if err != nil {
		d.j.log.Warn("rebuilding the result failed", "err", err)
		return nil, errRebuild
	}
	fs, err := listFiles(out.Files)
	if err != nil {
		return nil, err
	}
	d.builds[maxFile] = fs
	return fs, nil
}

// cleanup removes the rebuilt results.
func (d *delivery) cleanup() {
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	for _, dir := range d.dirs {
		os.RemoveAll(dir)
	}
	d.dirs = nil
}

// publish hard-links (or copies) a file into the links dir once.
func (d *delivery) publish(f outFile) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u, ok := d.urls[f.path]; ok {
		return u, nil
	}
	tmp := filepath.Join(filepath.Dir(f.path), ".pub-"+newID())
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dst := filepath.Join(tmp, f.name)
	if err := os.Link(f.path, dst); err != nil {
		if err := fsutil.CopyNew(f.path, dst); err != nil {
			return "", err
		}
	}
	u, err := d.b.links.publish(dst)
	if err != nil {
		return "", err
	}
	d.j.log.Info("link published", "file", f.name, "url", u)
	d.urls[f.path] = u
	return u, nil
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
		names[i] = fmt.Sprintf("📄 %s (%s)", f.name, human(f.size))
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

// retry runs f until it succeeds, fails for good, or attempts run out.
func (b *Bot) retry(f func(ctx context.Context) error) error {
	delay := b.cfg.RetryDelay
	var err error
	for attempt := 0; attempt < b.cfg.Retries; attempt++ {
		err = f(b.hardStop)
		if err == nil || !retryable(err) || isTokenErr(err) || isTooLarge(err) {
			return err
		}
		select {
		case <-time.After(delay):
		case <-b.hardStop.Done():
			return err
		}
		delay *= 2
	}
	return err
}

// finalEdit makes the last state of a status message land: retried, and
// through the bot token when the interaction token is gone (as a new
// channel message when the status message's id is unknown; its id is
// learnt, so later edits change that message rather than post another).
// It reports whether the edit landed.
func (b *Bot) finalEdit(w *watcher, v view) bool {
	st := w.st
	if st == nil {
		return false
	}
	err := b.retry(func(ctx context.Context) error {
		err := st.edit(ctx, v, true)
		if err == errNoMessage {
			content := strings.TrimSpace("<@" + w.userID + "> " + strings.TrimPrefix(v.Content, "<@"+w.userID+">"))
			var msg *discordgo.Message
			msg, err = b.s.ChannelMessageSendComplex(w.i.ChannelID, &discordgo.MessageSend{
				Content: content, Embeds: v.Embeds, Components: v.Components,
				AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{w.userID}},
			}, discordgo.WithContext(ctx))
			if err == nil {
				if msg != nil && msg.ChannelID == "" {
					msg.ChannelID = w.i.ChannelID
				}
				st.learn(msg, v)
			}
		}
		return err
	})
	if err != nil {
		w.logger(b).Warn("final status edit failed", "err", err)
		return false
	}
	return true
}

// resplit rebuilds the result from the kept pages in parts of at most
// half the largest refused file, a few rounds, and uploads them.
func (d *delivery) resplit(w *watcher, largest int64) error {
	var err error
	for round := 0; round < 3; round++ {
		largest /= 2
		files, berr := d.build(largest)
		if berr != nil {
			return berr
		}
		if len(files) > d.b.cfg.MaxParts {
			return errTooManyParts
		}
		err = d.upload(w, files)
		if err == nil || !isTooLarge(err) {
			return err
		}
	}
	return err
}
