package book

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Format is an output format.
type Format string

const (
	PDF  Format = "pdf"
	CBZ  Format = "cbz"
	EPUB Format = "epub"
)

// Formats lists the formats in the order they are offered to users.
var Formats = []Format{PDF, CBZ, EPUB}

// ParseFormat accepts "pdf", "cbz" or "epub" (any case); "" is PDF.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return PDF, nil
	case PDF, CBZ, EPUB:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (use pdf, cbz or epub)", s)
}

// Ext is the file extension with its dot: ".pdf".
func (f Format) Ext() string { return "." + string(f) }

// ErrNoPages is returned when not a single page could be used; nothing is
// written then (no empty or placeholder-only document).
var ErrNoPages = errors.New("no usable pages")

// MinFileBytes is the smallest MaxFileBytes a writer accepts: below it
// hardly a page would fit in a part. (Config asks for far more; this only
// catches nonsense such as 100 bytes.)
const MinFileBytes = 4 << 10

// Meta describes the document. Fields left empty are left out of the file.
type Meta struct {
	Title    string // whole document: "Series — Ch. 12: Title"
	Series   string
	Number   string // chapter number ("12", "12.5"); the first one when merged
	Volume   string
	Summary  string
	Writers  []string // story
	Artists  []string // art
	Groups   []string // scanlation groups (translators)
	Language string   // BCP 47 / ISO 639-1 as the site gives it: "en", "pt-br"
	Web      string   // source URL
	Keywords []string
	// RightToLeft is the reading order of manga; false for webtoons and
	// left-to-right comics.
	RightToLeft bool
	// Webtoon: one long strip (no two-page spreads).
	Webtoon  bool
	Producer string // "mangabot VERSION"
	Date     time.Time
	// Chapters in order; with more than one, outlines and navigation get
	// one entry per chapter.
	Chapters []Chapter
	// ChapterIndex, when set, gives the index into Chapters of input page
	// i, in place of the chapters' Start: pages that stream in while they
	// download do not know where later chapters start. It is called for
	// page i only after the sequence yielded it.
	ChapterIndex func(i int) int
}

// Chapter is one chapter of a document.
type Chapter struct {
	Title string // "Vol. 1 Ch. 12: Title"
	Label string // page label prefix: "12" gives pages "12-1", "12-2", ...
	Start int    // index into the pages of its first page
}

// ChapterAt is the index into m.Chapters of the chapter holding input page
// i, or -1 when there are no chapters.
func (m *Meta) ChapterAt(i int) int {
	if m.ChapterIndex != nil && len(m.Chapters) > 0 {
		return min(max(m.ChapterIndex(i), 0), len(m.Chapters)-1)
	}
	c := -1
	for k, ch := range m.Chapters {
		if ch.Start > i {
			break
		}
		c = k
	}
	if c < 0 && len(m.Chapters) > 0 {
		c = 0
	}
	return c
}

// Page is one input page.
type Page struct {
	Path string // image file on disk; empty when the page failed
	Err  error  // why it failed (for the placeholder); nil when Path is set
}

// Stats describe a written document.
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

// MediaType is the MIME type of an output file, by its extension.
func MediaType(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		return "application/pdf"
	case ".cbz":
		return "application/vnd.comicbook+zip"
	case ".epub":
		return "application/epub+zip"
	}
	return "application/octet-stream"
}
