package pdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"slices"

	"github.com/mangabot/mangabot/book"
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
	if o.LossyWebP == "" {
		o.LossyWebP = WebPAuto
	}
	if o.JPEGQuality <= 0 || o.JPEGQuality > 100 {
		o.JPEGQuality = defaultJPEGQuality
	}
	return o
}

// Write writes one PDF of all pages to w (no splitting). Nothing is written
// to w when no page is usable (ErrNoPages).
func Write(ctx context.Context, w io.Writer, pages []Page, info Info, opts Options) (Stats, error) {
	opts.MaxFileBytes = 0
	j := newJob(slices.All(pages), info, opts)
	j.open = func() (io.Writer, error) { return w, nil }
	j.close = func() error { return nil }
	return j.run(ctx)
}

// MinFileBytes is the smallest MaxFileBytes WriteFiles accepts.
const MinFileBytes = book.MinFileBytes

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
	if err := book.CheckMaxFileBytes(opts.MaxFileBytes); err != nil {
		return nil, Stats{}, fmt.Errorf("pdf: %w", err)
	}
	dir := filepath.Dir(path)
	if opts.TempDir != "" {
		dir = opts.TempDir
	}
	files := book.NewFiles(path, opts.TempDir)
	j := newJob(pages, info, opts)
	j.open, j.close, j.spillDir = files.Next, files.Done, dir
	st, err := j.run(ctx)
	if err != nil {
		files.Abort()
		return nil, st, err
	}
	names, err := files.Commit()
	if err != nil {
		return nil, st, fmt.Errorf("pdf: %w", err)
	}
	return names, st, nil
}

func newJob(pages iter.Seq2[int, Page], info Info, opts Options) *job {
	j := &job{pages: pages, opts: opts.withDefaults(), info: infoDict(info), meta: book.Meta{Chapters: info.Chapters, ChapterIndex: info.ChapterIndex}, rtl: info.RightToLeft}
	for _, c := range info.Chapters {
		j.markCost = max(j.markCost, int64(len(textString(c.Title))+len(textString(c.Label))))
	}
	// An outline item and a page label range, written at the end.
	j.markCost += 256
	return j
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

	meta     book.Meta // the chapters, for ChapterAt
	rtl      bool
	markCost int64       // bound of what a chapter mark adds at the end
	chPages  map[int]int // pages written so far of each chapter

	doc   *docWriter
	stats Stats
	lastW float64 // width of the last image page, for placeholders
}

// probed is a usable page and its size on the page.
type probed struct {
	img    *pageImage
	pw, ph float64
}

func (j *job) run(ctx context.Context) (Stats, error) {
	pr := &prober{ctx: ctx, maxPixels: j.opts.MaxPixels, budget: j.opts.Budget}
	steps := book.Steps[probed]{
		Inspect: func(_ int, path string) (probed, error) {
			img, err := pr.probe(path)
			if pe := (*pageError)(nil); err != nil && !errors.As(err, &pe) {
				return probed{}, book.Fatal(err) // cancelled while waiting for decode memory
			}
			if err != nil {
				return probed{}, err
			}
			pw, ph := pageSize(img.w, img.h, j.opts.DPI, j.opts.MaxSide)
			return probed{img, pw, ph}, nil
		},
		First: func(p probed) { j.lastW = p.pw },
		Add: func(i int, p probed) error {
			j.lastW = p.pw
			err := j.emitImage(i, p.img, p.pw, p.ph)
			p.img.done()
			return err
		},
	}
	if j.opts.Placeholders {
		steps.Placeholder = j.emitPlaceholder
	}
	var err error
	if j.stats.Skipped, err = book.Loop(ctx, j.pages, steps); err != nil {
		return j.stats, err
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
		j.doc = newDoc(w, j.info, j.rtl)
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
	if img.kind == kindDecoded && j.opts.LossyWebP != WebPLossless && isLossyWebP(img.path) {
		if err := storeWebP(img, j.opts.LossyWebP, j.opts.JPEGQuality, j.spillDir); err != nil {
			return err
		}
	}
	if j.opts.MaxFileBytes > 0 {
		// The part boundary is decided before writing, so the size must be
		// known: decoded pages are compressed into memory first.
		if err := preEncode(img, j.spillDir); err != nil {
			return err
		}
	}
	est := img.length + int64(len(img.colorSpace)+len(img.parms)) + j.markCost
	if err := j.ensureRoom(est, fmt.Sprintf("page %d (%s)", i+1, img.path)); err != nil {
		return err
	}
	j.mark(i)
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
	if err := j.ensureRoom(int64(len(content))+j.markCost, fmt.Sprintf("placeholder for page %d", sk.Index+1)); err != nil {
		return err
	}
	j.mark(sk.Index)
	if err := j.doc.addPlaceholder(content, pw, ph); err != nil {
		return err
	}
	j.stats.Pages++
	return nil
}

// mark notes, before input page i is added, where a chapter starts: its
// outline item and page label range. Every part opens with a mark, so that
// its labels and outline continue the chapter its first page belongs to.
func (j *job) mark(i int) {
	c := j.meta.ChapterAt(i)
	if j.chPages == nil {
		j.chPages = map[int]int{}
	}
	defer func() { j.chPages[c]++ }()
	if n := len(j.doc.marks); n > 0 && j.doc.marks[n-1].chapter == c {
		return
	}
	m := chapterMark{chapter: c, page: len(j.doc.kids), first: j.chPages[c] + 1}
	if c >= 0 {
		ch := j.meta.Chapters[c]
		m.title = ch.Title
		if len(j.meta.Chapters) > 1 {
			m.prefix = ch.Label
			if m.prefix == "" {
				m.prefix = fmt.Sprint(c + 1)
			}
			m.prefix += "-"
		}
	}
	j.doc.marks = append(j.doc.marks, m)
}
