package cbz

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mangabot/mangabot/book"
)

// New is the CBZ writer (book.WriteFiles, book.WriteStream): ch12.cbz,
// ch12-part2.cbz, ... opts.Pages sizes the page numbers in file names.
func New(opts book.Options) book.Writer { return &writer{digits: book.Digits(opts.Pages)} }

type writer struct{ digits int }

// pageInfoCost bounds a <Page> element of ComicInfo.xml.
const pageInfoCost = 160

func (w *writer) name(n int, img *book.Image) string {
	return fmt.Sprintf("%0*d%s", w.digits, n, img.Ext())
}

func (w *writer) Prepare(img *book.Image) (int64, error) {
	return book.ZipEntryCost(w.name(1, img), img.Size) + pageInfoCost + int64(len(img.Missing)) + 64, nil
}

func (w *writer) Open(out io.Writer, meta *book.Meta, part int) (book.Part, error) {
	mod := meta.Date
	if mod.IsZero() {
		mod = time.Now()
	}
	p := &archive{w: w, z: book.NewZip(out, mod), meta: meta, info: newComicInfo(meta, part)}
	base, err := p.info.render()
	if err != nil {
		return nil, err
	}
	p.base = int64(len(base))
	return p, nil
}

type archive struct {
	w       *writer
	z       *book.Zip
	meta    *book.Meta
	info    *comicInfo
	base    int64 // ComicInfo.xml without pages
	missing []string
}

func (p *archive) Add(img *book.Image) error {
	n := len(p.info.Pages)
	name := p.w.name(n+1, img)
	if err := p.z.StoreImage(name, img); err != nil {
		return fmt.Errorf("cbz: %s: %w", name, err)
	}
	pg := comicPage{Image: n, ImageSize: img.Size, ImageWidth: img.Width, ImageHeight: img.Height}
	var types []string
	if n == 0 {
		types = append(types, "FrontCover")
	}
	if img.Missing != "" {
		// A placeholder: not story, and said so in Notes.
		types = append(types, "Other")
		p.missing = append(p.missing, fmt.Sprintf("%s: page %d is missing (%s)", name, img.Index+1, img.Missing))
	}
	pg.Type = strings.Join(types, " ")
	if img.ChapterStart && img.Chapter >= 0 && len(p.meta.Chapters) > 1 {
		pg.Bookmark = p.meta.Chapters[img.Chapter].Title
	}
	p.info.Pages = append(p.info.Pages, pg)
	return nil
}

func (p *archive) Written() int64 { return p.z.Written() }

func (p *archive) Reserve() int64 {
	notes := int64(0)
	for _, m := range p.missing {
		notes += int64(len(m)) + 2
	}
	xmlBytes := p.base + int64(len(p.info.Pages))*pageInfoCost + 2*notes + 64
	return p.z.Reserve() + book.ZipEntryCost("ComicInfo.xml", xmlBytes)
}

func (p *archive) Close() error {
	p.info.PageCount = len(p.info.Pages)
	if len(p.missing) > 0 {
		p.info.Notes = "Placeholder pages (the download failed):\n" + strings.Join(p.missing, "\n")
	}
	data, err := p.info.render()
	if err != nil {
		return err
	}
	// Stored, so that readers find it without inflating anything.
	if err := p.z.StoreBytes("ComicInfo.xml", data); err != nil {
		return fmt.Errorf("cbz: ComicInfo.xml: %w", err)
	}
	return p.z.Close()
}
