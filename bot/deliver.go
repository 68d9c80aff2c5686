package bot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mangabot/mangabot/internal/fsutil"
	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/pipeline"
)

// delivery hands a finished job's result to its watchers.
type delivery struct {
	b   *Bot
	j   *job
	out *pipeline.Output

	mu   sync.Mutex
	urls map[string]string // published links by file

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
	if d.b.links != nil && d.b.env.FitMode(j.plan.Request) == pipeline.FitLink && (len(files) > 1 || (len(files) == 1 && files[0].size > budget)) {
		// Asked for a link rather than parts.
		d.link(w, orig)
		return
	}
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
		len(files), humanize.Bytes(largest), humanize.Bytes(w.limit), d.b.cfg.MaxParts))
}

// fail shows a delivery failure on the status message: the job is shown
// as failed (not done), with msg.
func (d *delivery) fail(w *watcher, msg string) {
	d.failed.Store(true)
	d.b.finalEdit(w, d.j.failedView(msg))
}

func (d *delivery) doneView(w *watcher, extra string) view {
	v := d.j.view(extra)
	if st := w.st; st != nil && st.tokenDead() {
		v.Content = "<@" + w.userID + ">"
	}
	return v
}

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

// cleanup removes the rebuilt results.
func (d *delivery) cleanup() {
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	for _, dir := range d.dirs {
		os.RemoveAll(dir)
	}
	d.dirs = nil
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
		lines = append(lines, fmt.Sprintf("📥 [%s](%s) (%s)", f.name, u, humanize.Bytes(f.size)))
	}
	exp := time.Now().Add(d.b.cfg.LinkTTL).Unix()
	lines = append(lines, fmt.Sprintf("Too big to attach here (limit %s); links expire <t:%d:R>.", humanize.Bytes(w.limit), exp))
	if d.b.finalEdit(w, d.doneView(w, strings.Join(lines, "\n"))) {
		d.j.markDelivered(key, w.st.messageID())
	}
}

// publish hands a file to the Publisher once, through a hard link (or
// copy) it may move away.
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
	u, err := d.b.links.Publish(d.b.hardStop, dst)
	if err != nil {
		return "", err
	}
	d.j.log.Info("link published", "file", f.name, "url", u)
	d.urls[f.path] = u
	return u, nil
}
