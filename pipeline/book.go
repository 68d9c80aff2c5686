package pipeline

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/cbz"
	"github.com/mangabot/mangabot/epub"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/sites"
)

// format checks a requested format; "" is the configured default.
func (e *Env) format(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		s = string(e.Format)
	}
	f, err := book.ParseFormat(s)
	return string(f), err
}

// write writes one output file (or its parts) in format f from pages as
// they download; po are the run's PDF options, whose placeholders, part
// size, pixel limit and temp folder every format follows; expected is how
// many pages are announced.
func (e *Env) write(ctx context.Context, f book.Format, path string, pages iter.Seq2[int, book.Page], m book.Meta, po pdf.Options, expected int) ([]string, book.Stats, error) {
	if f == book.PDF {
		return pdf.WriteStream(ctx, path, pages, pdfInfo(m), po)
	}
	o := book.Options{
		Placeholders: po.Placeholders,
		MaxFileBytes: po.MaxFileBytes,
		TempDir:      po.TempDir,
		Inspect:      pdf.Inspector(po.MaxPixels),
		Pages:        expected,
	}
	newWriter := epub.New
	if f == book.CBZ {
		newWriter = cbz.New
	}
	return book.WriteStream(ctx, path, pages, m, o, newWriter)
}

// expected is how many pages a group's chapters announce.
func expected(g []*chapterRun) int {
	n := 0
	for _, ch := range g {
		n += pageCount(ch.c)
	}
	return n
}

// meta describes a group of chapters written into one file, one entry
// per chapter (the writer learns each page's chapter as it comes).
func (e *Env) meta(g []*sites.Chapter) book.Meta {
	marks := make([]book.Chapter, len(g))
	for i, c := range g {
		marks[i] = book.Chapter{Title: chapterLabel(c), Label: c.Number}
	}
	c := g[0]
	m := book.Meta{
		Title:       ChapterTitle(c),
		Series:      c.Series,
		Number:      c.Number,
		Volume:      c.Volume,
		Summary:     c.Summary,
		Writers:     c.Authors,
		Artists:     c.Artists,
		Language:    c.Language,
		Web:         c.SourceURL,
		RightToLeft: !c.LeftToRight && c.Site != "webtoon",
		Webtoon:     c.Site == "webtoon",
		Producer:    e.Producer,
		Date:        time.Now(),
		Chapters:    marks,
	}
	if len(g) > 1 {
		m.Title = fmt.Sprintf("%s — %s to %s", c.Series, label(c), label(g[len(g)-1]))
		if g[len(g)-1].Volume != c.Volume {
			m.Volume = ""
		}
	}
	// Credits name the scanlation groups, and last the site itself; on
	// WEBTOON, an official publisher, they name the authors.
	for _, name := range credits(g) {
		switch {
		case strings.EqualFold(name, c.Site):
		case c.Site == "webtoon":
			if len(c.Authors) == 0 {
				m.Writers = append(m.Writers, name)
			}
		default:
			m.Groups = append(m.Groups, name)
		}
	}
	if c.Language != "" {
		m.Keywords = append(m.Keywords, c.Language)
	}
	m.Keywords = append(m.Keywords, c.Site)
	return m
}

// chapterLabel is a chapter's entry in outlines and tables of contents:
// "Vol. 1 Ch. 12: Title", without the series.
func chapterLabel(c *sites.Chapter) string {
	s := label(c)
	if c.Title != "" {
		if s != "" {
			s += ": "
		}
		s += c.Title
	}
	if s == "" {
		s = ChapterTitle(c)
	}
	return s
}

// pdfInfo maps the metadata onto the PDF information dictionary.
func pdfInfo(m book.Meta) pdf.Info {
	authors := append(append([]string(nil), m.Writers...), m.Artists...)
	if len(authors) == 0 {
		authors = m.Groups
	}
	keys := append(append([]string(nil), m.Keywords...), m.Groups...)
	if m.Web != "" {
		keys = append(keys, m.Web)
	}
	subject := m.Series
	if subject == "" {
		subject = m.Title
	}
	return pdf.Info{
		Title:        m.Title,
		Author:       strings.Join(authors, ", "),
		Subject:      subject,
		Keywords:     strings.Join(keys, ", "),
		Creator:      "mangabot",
		Producer:     m.Producer,
		CreationDate: m.Date,
		Chapters:     m.Chapters,
		RightToLeft:  m.RightToLeft,
		ChapterIndex: m.ChapterIndex,
	}
}

// groupIndex is the index in g of the plan's chapter number no.
func groupIndex(g []*chapterRun, no int) int {
	for k, ch := range g {
		if ch.no == no {
			return k
		}
	}
	return 0
}
