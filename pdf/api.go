package pdf

import (
	"errors"
	"time"
)

// ErrNoPages is returned when not a single page could be used; nothing is
// written then (no empty or placeholder-only document).
var ErrNoPages = errors.New("pdf: no usable pages")

// Info is the document information dictionary.
type Info struct {
	Title    string // "Series — Ch. 12: Title"
	Author   string // credits (scanlation group, site)
	Subject  string // source URL
	Keywords string
	Creator  string // "mangabot"
	Producer string // "mangabot VERSION"
	// CreationDate is written as /CreationDate; zero means time.Now().
	CreationDate time.Time
}

// Options configure the writer. The zero value works.
type Options struct {
	DPI          float64 // image pixels per inch for page size; default 96
	MaxSide      float64 // max page side in PDF units; default 14400 (Acrobat's limit)
	MaxPixels    int64   // refuse a page above this many pixels without decoding; default 150e6
	Placeholders bool    // add a page saying which page is missing and why
	MaxFileBytes int64   // split into parts each under this size (WriteFiles; at least MinFileBytes); 0 = one file
	// Budget bounds the memory of decoded pages across every job sharing
	// it; nil shares one budget of DefaultDecodeMemory per process.
	Budget *Budget
	// TempDir holds WriteFiles' temporary files (on the file system of the
	// output, which they are renamed into); empty: beside the output.
	TempDir string
}

// Page is one input page.
type Page struct {
	Path string // image file on disk; empty when the page failed
	Err  error  // why it failed (for the placeholder); nil when Path is set
}

// Stats describe a written document (Write, WriteFiles).
//
// A page that cannot be used (corrupt, too many pixels) is skipped (or gets a
// placeholder) and reported in Stats.Skipped; only "no usable page at all"
// is an error (ErrNoPages).
type Stats struct {
	Pages   int       // pages written (placeholders included)
	Bytes   int64     // total output bytes
	Skipped []Skipped // input pages left out or replaced
}

// Skipped is an input page that did not make it into the document.
type Skipped struct {
	Index  int    // position in the pages slice (0-based)
	Reason string // e.g. "not an image", "corrupt image: ...", the Page.Err text
}
