package pdf

import (
	"time"

	"github.com/mangabot/mangabot/book"
)

// ErrNoPages is returned when not a single page could be used; nothing is
// written then (no empty or placeholder-only document).
var ErrNoPages = book.ErrNoPages

// Info is the document information dictionary.
type Info struct {
	Title    string // "Series — Ch. 12: Title"
	Author   string // the authors, else the scanlation groups
	Subject  string // the series
	Keywords string // language, site, groups, source URL
	Creator  string // "mangabot"
	Producer string // "mangabot VERSION"
	// CreationDate is written as /CreationDate; zero means time.Now().
	CreationDate time.Time
	// Chapters give the outline (one bookmark per chapter, when there are
	// several) and the page labels ("12-1", "12-2", ... when merged).
	Chapters []book.Chapter
	// ChapterIndex, when set, gives the chapter of input page i instead of
	// the chapters' Start (see book.Meta.ChapterIndex).
	ChapterIndex func(i int) int
	// RightToLeft sets /ViewerPreferences /Direction /R2L (manga).
	RightToLeft bool
}

// Options configure the writer. The zero value works.
type Options struct {
	DPI          float64 // image pixels per inch for page size; default 96
	MaxSide      float64 // max page side in PDF units; default 14400 (Acrobat's limit)
	MaxPixels    int64   // refuse a page above this many pixels without decoding; default 150e6
	Placeholders bool    // add a page saying which page is missing and why
	MaxFileBytes int64   // split into parts each under this size (WriteFiles; at least MinFileBytes); 0 = one file
	// LossyWebP is how lossy WebP pages are stored: WebPAuto (the default,
	// "") takes the smaller of JPEG at JPEGQuality and lossless; WebPJPEG
	// always re-encodes as JPEG; WebPLossless keeps the decoded pixels
	// exactly. README has the measurements behind the default.
	LossyWebP   string
	JPEGQuality int // 1-100; default 90
	// Budget bounds the memory of decoded pages across every job sharing
	// it; nil shares one budget of DefaultDecodeMemory per process.
	Budget *Budget
	// TempDir holds WriteFiles' temporary files (on the file system of the
	// output, which they are renamed into); empty: beside the output.
	TempDir string
}

// Page is one input page (see book.Page).
type Page = book.Page

// Stats describe a written document (Write, WriteFiles); see book.Stats.
type Stats = book.Stats

// Skipped is an input page that did not make it into the document.
type Skipped = book.Skipped
