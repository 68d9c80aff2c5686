package book

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
)

// Image is one page ready to be written: the file as downloaded, or a
// generated placeholder saying which page is missing.
type Image struct {
	Index  int    // position in the input pages (0-based)
	Path   string // the downloaded file; empty when Data is set
	Data   []byte // a placeholder or converted image, when Path is empty
	Format string // "jpeg", "png", "gif", "webp"
	Width  int
	Height int
	Size   int64
	// Missing is why the page is missing when this is a placeholder.
	Missing string
	// Fallback is a copy in a format every reader takes, for a format some
	// lack (EPUB 3.2 readers and WebP); set by the writer's Prepare.
	Fallback []byte
	// Chapter indexes Meta.Chapters (-1: none); ChapterStart is set on the
	// first page of each chapter within a part, so every part's table of
	// contents starts with the chapter its first page belongs to.
	Chapter      int
	ChapterStart bool
}

// Ext is the file extension for the image format, with its dot.
func (im *Image) Ext() string {
	if im.Format == "jpeg" {
		return ".jpg"
	}
	return "." + im.Format
}

// MediaType is the image's MIME type.
func (im *Image) MediaType() string { return "image/" + im.Format }

// Part is one output file being written by a format.
type Part interface {
	Add(img *Image) error
	Written() int64 // bytes written so far
	Reserve() int64 // an upper bound of what Close still writes
	Close() error
}

// Writer is a format: it opens parts and says what a page will cost.
type Writer interface {
	// Open starts part number part (1-based) on w.
	Open(w io.Writer, meta *Meta, part int) (Part, error)
	// Prepare readies img for Add (a format may convert or add to it) and
	// returns an upper bound of the bytes Add writes for it.
	Prepare(img *Image) (int64, error)
}

// ImageInfo is what Inspect learns of an image file.
type ImageInfo struct {
	Format        string // "jpeg", "png", "gif", "webp"
	Width, Height int
	// Data, when set, replaces the file: the image converted to Format
	// because readers do not take the original (BMP, TIFF).
	Data []byte
}

// Options configure WriteFiles.
type Options struct {
	Placeholders bool  // a generated page says which page is missing and why
	MaxFileBytes int64 // split into parts each under this size; 0 = one file
	// TempDir holds the temporary files (on the output's file system);
	// empty: beside the output.
	TempDir string
	// Pages is how many pages are expected, for writers that number files
	// (001.jpg): the width of the numbers. 0: WriteFiles counts them;
	// WriteStream uses three digits.
	Pages int
	// Inspect checks an image file and reads its format and size; an error
	// makes the page a skipped one (its text is the reason). Required:
	// pdf.Inspector applies the PDF writer's checks.
	Inspect func(path string) (ImageInfo, error)
}

// WriteFiles writes the pages as format w to path, in parts when
// MaxFileBytes asks for it (see Files for names). Returns the written paths
// in order. On error nothing is left behind.
func WriteFiles(ctx context.Context, path string, pages []Page, meta Meta, opts Options, newWriter func(Options) Writer) ([]string, Stats, error) {
	if opts.Pages == 0 {
		opts.Pages = len(pages)
	}
	return WriteStream(ctx, path, slices.All(pages), meta, opts, newWriter)
}

// WriteStream is WriteFiles over pages that may still be downloading (see
// pdf.WriteStream): each page is written as the sequence yields it.
func WriteStream(ctx context.Context, path string, pages iter.Seq2[int, Page], meta Meta, opts Options, newWriter func(Options) Writer) ([]string, Stats, error) {
	w := newWriter(opts)
	if err := CheckMaxFileBytes(opts.MaxFileBytes); err != nil {
		return nil, Stats{}, err
	}
	if opts.Inspect == nil {
		return nil, Stats{}, errors.New("no image inspector (Options.Inspect)")
	}
	files := NewFiles(path, opts.TempDir)
	r := &run{pages: pages, meta: &meta, opts: opts, w: w, files: files}
	if err := r.loop(ctx); err != nil {
		files.Abort()
		return nil, r.stats, err
	}
	names, err := files.Commit()
	return names, r.stats, err
}

type run struct {
	pages iter.Seq2[int, Page]
	meta  *Meta
	opts  Options
	w     Writer
	files *Files

	part    Part
	parts   int
	chapter int // chapter of the last page added to the current part
	stats   Stats
	lastW   int // width of the last image page, for placeholders
	lastH   int
}

func (r *run) loop(ctx context.Context) error {
	steps := Steps[*Image]{
		Inspect: r.inspect,
		First:   func(img *Image) { r.lastW, r.lastH = img.Width, img.Height },
		Add: func(_ int, img *Image) error {
			r.lastW, r.lastH = img.Width, img.Height
			return r.add(img)
		},
	}
	if r.opts.Placeholders {
		steps.Placeholder = r.placeholder
	}
	var err error
	if r.stats.Skipped, err = Loop(ctx, r.pages, steps); err != nil {
		return err
	}
	return r.endPart()
}

func (r *run) inspect(i int, path string) (*Image, error) {
	info, err := r.opts.Inspect(path)
	if err != nil {
		return nil, err
	}
	if info.Data != nil {
		return &Image{Index: i, Data: info.Data, Format: info.Format, Width: info.Width, Height: info.Height, Size: int64(len(info.Data))}, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open image: %w", err)
	}
	return &Image{Index: i, Path: path, Format: info.Format, Width: info.Width, Height: info.Height, Size: st.Size()}, nil
}

func (r *run) placeholder(sk Skipped) error {
	data, w, h, err := Placeholder(sk.Index+1, sk.Reason, r.lastW, r.lastH)
	if err != nil {
		return err
	}
	return r.add(&Image{Index: sk.Index, Data: data, Format: "png", Width: w, Height: h, Size: int64(len(data)), Missing: sk.Reason})
}

// add puts img in the current part, or starts the next part when it would
// not fit under MaxFileBytes.
func (r *run) add(img *Image) error {
	limit := r.opts.MaxFileBytes
	cost, err := r.w.Prepare(img)
	if err != nil {
		return fmt.Errorf("page %d: %w", img.Index+1, err)
	}
	if r.part != nil && limit > 0 && r.part.Written()+cost+r.part.Reserve() > limit {
		if err := r.endPart(); err != nil {
			return err
		}
	}
	if r.part == nil {
		out, err := r.files.Next()
		if err != nil {
			return err
		}
		r.parts++
		if r.part, err = r.w.Open(out, r.meta, r.parts); err != nil {
			return err
		}
		r.chapter = -2
		if limit > 0 && r.part.Written()+cost+r.part.Reserve() > limit {
			return fmt.Errorf("page %d needs about %d bytes, more than max_file_bytes %d on its own",
				img.Index+1, r.part.Written()+cost+r.part.Reserve(), limit)
		}
	}
	img.Chapter = r.meta.ChapterAt(img.Index)
	img.ChapterStart = img.Chapter != r.chapter
	r.chapter = img.Chapter
	if err := r.part.Add(img); err != nil {
		return err
	}
	r.stats.Pages++
	return nil
}

func (r *run) endPart() error {
	if r.part == nil {
		return nil
	}
	err := r.part.Close()
	r.stats.Bytes += r.part.Written()
	r.part = nil
	if err != nil {
		return err
	}
	return r.files.Done()
}

// Digits is the width of page numbers in file names for n pages: 3, or
// more for a longer document, so that names sort in reading order.
func Digits(n int) int { return max(3, len(strconv.Itoa(n))) }
