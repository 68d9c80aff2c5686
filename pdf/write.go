package pdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	defaultDPI       = 96
	defaultMaxSide   = 14400
	defaultMaxPixels = 150e6
	// a4W, a4H size placeholders when no image page gives a better width.
	a4W, a4H = 595.276, 841.89
)

func (o Options) withDefaults() Options {
	if o.DPI <= 0 {
		o.DPI = defaultDPI
	}
	if o.MaxSide <= 0 {
		o.MaxSide = defaultMaxSide
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = defaultMaxPixels
	}
	if o.Budget == nil {
		o.Budget = processBudget()
	}
	return o
}

// Write writes one PDF of all pages to w (no splitting). Nothing is written
// to w when no page is usable (ErrNoPages).
func Write(ctx context.Context, w io.Writer, pages []Page, info Info, opts Options) (Stats, error) {
	opts.MaxFileBytes = 0
	j := &job{
		pages: slices.All(pages), opts: opts.withDefaults(), info: infoDict(info),
		open:  func() (io.Writer, error) { return w, nil },
		close: func() error { return nil },
	}
	return j.run(ctx)
}

// MinFileBytes is the smallest MaxFileBytes WriteFiles accepts: below it
// hardly a page would fit in a part. (Config asks for far more; this only
// catches nonsense such as 100 bytes.)
const MinFileBytes = 4 << 10

// WriteFiles writes the PDF to path, each output through a temp file renamed
// when complete. When MaxFileBytes is set and the document must be split,
// the first part keeps path and the others go beside it: ch12.pdf,
// ch12-part2.pdf, ch12-part3.pdf, ... Returns the written paths in order. On
// error nothing is left behind. A MaxFileBytes below MinFileBytes is an
// error, before anything is read or written.
func WriteFiles(ctx context.Context, path string, pages []Page, info Info, opts Options) ([]string, Stats, error) {
	return WriteStream(ctx, path, slices.All(pages), info, opts)
}

// WriteStream is WriteFiles over pages that may still be downloading: it
// writes each page as the sequence yields it (index, page), in order, so
// that when the last page arrives only the trailer remains. The sequence
// ends early when ctx is done; WriteStream then fails with ctx's error and
// leaves nothing behind.
func WriteStream(ctx context.Context, path string, pages iter.Seq2[int, Page], info Info, opts Options) ([]string, Stats, error) {
	if opts.MaxFileBytes > 0 && opts.MaxFileBytes < MinFileBytes {
		return nil, Stats{}, fmt.Errorf("pdf: max_file_bytes must be at least 4 KiB (%d bytes), got %d", int64(MinFileBytes), opts.MaxFileBytes)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if opts.TempDir != "" {
		dir = opts.TempDir
	}
	var (
		temps []string
		cur   *syncingFile
	)
	cleanup := func() {
		if cur != nil {
			cur.wait()
			cur.Close()
		}
		for _, t := range temps {
			os.Remove(t)
		}
	}
	j := &job{
		pages: pages, opts: opts.withDefaults(), info: infoDict(info), spillDir: dir,
		open: func() (io.Writer, error) {
			f, err := os.CreateTemp(dir, "."+base+".tmp-*")
			if err != nil {
				return nil, err
			}
			cur = &syncingFile{File: f}
			temps = append(temps, f.Name())
			return cur, nil
		},
		close: func() error {
			f := cur
			cur = nil
			// Sync before rename so a crash cannot leave a complete-looking
			// name over partial data.
			f.wait()
			err := f.Sync()
			if err2 := f.Chmod(0o644); err == nil {
				err = err2
			}
			if err2 := f.Close(); err == nil {
				err = err2
			}
			return err
		},
	}
	st, err := j.run(ctx)
	if err != nil {
		cleanup()
		return nil, st, err
	}
	names := []string{path}
	if len(temps) > 1 {
		names = partNames(path, len(temps))
	}
	for i, t := range temps {
		if err := os.Rename(t, names[i]); err != nil {
			for _, done := range names[:i] {
				os.Remove(done)
			}
			temps = temps[i:]
			cleanup()
			return nil, st, fmt.Errorf("pdf: %w", err)
		}
	}
	return names, st, nil
}

// partNames gives "ch12.pdf", "ch12-part2.pdf", "ch12-part3.pdf", ... for
// "ch12.pdf": the first part keeps the name asked for.
func partNames(path string, n int) []string {
	stem := path
	if ext := filepath.Ext(path); strings.EqualFold(ext, ".pdf") {
		stem = strings.TrimSuffix(path, ext)
	}
	names := make([]string, n)
	names[0] = path
	for i := 1; i < n; i++ {
		names[i] = fmt.Sprintf("%s-part%d.pdf", stem, i+1)
	}
	return names
}

// job runs the page loop for one or more output documents.
type job struct {
	pages iter.Seq2[int, Page]
	opts  Options
	info  []byte
	open  func() (io.Writer, error) // start the next output
	close func() error              // the current output is complete
	// spillDir holds pages encoded up front when splitting (WriteFiles:
	// beside the output).
	spillDir string

	doc   *docWriter
	stats Stats
	// missing holds failed pages seen before the first usable one: the
	// document is only started once there is something real to put in it.
	missing []Skipped
	lastW   float64 // width of the last image page, for placeholders
}

func (j *job) run(ctx context.Context) (Stats, error) {
	pr := &prober{ctx: ctx, maxPixels: j.opts.MaxPixels, budget: j.opts.Budget}
	started := false
	for i, pg := range j.pages {
		if err := ctx.Err(); err != nil {
			return j.stats, err
		}
		var (
			img *pageImage
			err error
		)
		if pg.Path == "" {
			err = pg.Err
			if err == nil {
				err = errors.New("no image file")
			}
		} else {
			img, err = pr.probe(pg.Path)
		}
		if pe := (*pageError)(nil); err != nil && !errors.As(err, &pe) && pg.Path != "" {
			return j.stats, err // cancelled while waiting for decode memory
		}
		if err != nil {
			sk := Skipped{Index: i, Reason: err.Error()}
			j.stats.Skipped = append(j.stats.Skipped, sk)
			if !j.opts.Placeholders {
				continue
			}
			if !started {
				j.missing = append(j.missing, sk)
				continue
			}
			if err := j.emitPlaceholder(sk); err != nil {
				return j.stats, err
			}
			continue
		}
		pw, ph := pageSize(img.w, img.h, j.opts.DPI, j.opts.MaxSide)
		if !started {
			started = true
			j.lastW = pw
			for _, sk := range j.missing {
				if err := j.emitPlaceholder(sk); err != nil {
					return j.stats, err
				}
			}
			j.missing = nil
		}
		err = j.emitImage(i, img, pw, ph)
		img.done()
		if err != nil {
			return j.stats, err
		}
		j.lastW = pw
	}
	// A stream cut short by ctx is a cancel, not a document without pages.
	if err := ctx.Err(); err != nil {
		return j.stats, err
	}
	if !started {
		return j.stats, ErrNoPages
	}
	return j.stats, j.endDoc()
}

// ensureRoom starts a document if none is open, or, when splitting, starts
// the next part if a page of size est would not fit in the current one.
func (j *job) ensureRoom(est int64, what string) error {
	limit := j.opts.MaxFileBytes
	if j.doc != nil && limit > 0 && len(j.doc.kids) > 0 &&
		j.doc.cw.n+est+pageOverhead+j.doc.reserve() > limit {
		if err := j.endDoc(); err != nil {
			return err
		}
	}
	if j.doc == nil {
		w, err := j.open()
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		j.doc = newDoc(w, j.info)
		if limit > 0 && j.doc.cw.n+est+pageOverhead+j.doc.reserve() > limit {
			return fmt.Errorf("pdf: %s needs about %d bytes, more than MaxFileBytes %d on its own", what, est+pageOverhead+j.doc.reserve(), limit)
		}
	}
	return nil
}

func (j *job) endDoc() error {
	if j.doc == nil {
		return nil
	}
	err := j.doc.finish()
	j.stats.Bytes += j.doc.cw.n
	j.doc = nil
	if err != nil {
		return err
	}
	return j.close()
}

func (j *job) emitImage(i int, img *pageImage, pw, ph float64) error {
	if j.opts.MaxFileBytes > 0 {
		// The part boundary is decided before writing, so the size must be
		// known: decoded pages are compressed into memory first.
		if err := preEncode(img, j.spillDir); err != nil {
			return err
		}
	}
	est := img.length + int64(len(img.colorSpace)+len(img.parms))
	if err := j.ensureRoom(est, fmt.Sprintf("page %d (%s)", i+1, img.path)); err != nil {
		return err
	}
	if err := j.doc.addImage(img, pw, ph); err != nil {
		return err
	}
	j.stats.Pages++
	return nil
}

func (j *job) emitPlaceholder(sk Skipped) error {
	pw, ph := a4W, a4H
	if j.lastW > 0 {
		pw, ph = j.lastW, j.lastW*a4H/a4W
	}
	content := placeholderContent(sk.Index+1, sk.Reason, pw, ph)
	if err := j.ensureRoom(int64(len(content)), fmt.Sprintf("placeholder for page %d", sk.Index+1)); err != nil {
		return err
	}
	if err := j.doc.addPlaceholder(content, pw, ph); err != nil {
		return err
	}
	j.stats.Pages++
	return nil
}

// syncEvery is how much a document grows between background syncs.
const syncEvery = 4 << 20

// syncingFile flushes what was written to disk in the background every
// syncEvery bytes, while the pages still downloading are awaited, so that
// the sync before the rename has only the tail left to do.
type syncingFile struct {
	*os.File
	n    int64 // written since the last sync began
	busy atomic.Bool
	wg   sync.WaitGroup
}

func (s *syncingFile) Write(p []byte) (int, error) {
	n, err := s.File.Write(p)
	s.wrote(int64(n))
	return n, err
}

// ReadFrom keeps the file's own ReadFrom (copy_file_range) for page data.
func (s *syncingFile) ReadFrom(r io.Reader) (int64, error) {
	n, err := s.File.ReadFrom(r)
	s.wrote(n)
	return n, err
}

func (s *syncingFile) wrote(n int64) {
	s.n += n
	if s.n < syncEvery || !s.busy.CompareAndSwap(false, true) {
		return
	}
	s.n = 0
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.busy.Store(false)
		// An error shows again at the final Sync, which is checked.
		_ = s.File.Sync()
	}()
}

// wait lets a background sync finish (before the final Sync or Close).
func (s *syncingFile) wait() { s.wg.Wait() }
