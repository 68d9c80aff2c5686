package epub

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mangabot/mangabot/book"
	"golang.org/x/image/webp"
)

// New is the EPUB writer (book.WriteFiles, book.WriteStream): ch12.epub,
// ch12-part2.epub, ... opts.Pages sizes the page numbers in file names.
func New(opts book.Options) book.Writer { return &writer{digits: book.Digits(opts.Pages)} }

type writer struct{ digits int }

const (
	mimetype = "application/epub+zip"
	// container points readers at the package document.
	container = `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
`
	// pageCost bounds what a page adds besides its image: its XHTML entry,
	// two manifest items, a spine item and a table of contents entry
	// without its title.
	pageCost = 1536
)

func (w *writer) id(n int) string { return fmt.Sprintf("%0*d", w.digits, n) }

func (w *writer) Prepare(img *book.Image) (int64, error) {
	cost := book.ZipEntryCost("OEBPS/images/"+w.id(1)+img.Ext(), img.Size) + pageCost
	if img.Format == "webp" {
		// EPUB 3.3 readers take WebP; 3.2 ones (and epubcheck 4) need a
		// fallback in a core format: the page as JPEG beside it.
		fb, err := webpFallback(img)
		if err != nil {
			return 0, err
		}
		img.Fallback = fb
		cost += book.ZipEntryCost("OEBPS/images/"+w.id(1)+".jpg", int64(len(fb))) + 256
	}
	return cost, nil
}

// fallbackQuality is the JPEG quality of WebP fallbacks: high, since the
// WebP was lossy already.
const fallbackQuality = 90

func webpFallback(img *book.Image) ([]byte, error) {
	var r io.Reader
	if img.Path == "" {
		r = bytes.NewReader(img.Data)
	} else {
		f, err := os.Open(img.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = bufio.NewReader(f)
	}
	m, err := webp.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("webp fallback: %w", err)
	}
	return book.JPEG(m, fallbackQuality)
}

func (w *writer) Open(out io.Writer, meta *book.Meta, part int) (book.Part, error) {
	mod := meta.Date
	if mod.IsZero() {
		mod = time.Now()
	}
	b := &ebook{w: w, z: book.NewZip(out, mod), meta: meta, part: part, mod: mod.UTC()}
	b.lang = meta.Language
	if b.lang == "" {
		b.lang = "und"
	}
	// The mimetype entry comes first, stored, so that the file announces
	// itself at a fixed offset.
	if err := b.z.StoreBytes("mimetype", []byte(mimetype)); err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}
	if err := b.z.Deflate("META-INF/container.xml", []byte(container)); err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}
	b.base = int64(len(b.opf(nil)) + len(b.nav()))
	return b, nil
}

// ebook is one EPUB file being written.
type ebook struct {
	w    *writer
	z    *book.Zip
	meta *book.Meta
	part int
	mod  time.Time
	lang string
	base int64 // package document and nav without pages

	pages []page
	toc   []tocEntry
	tocN  int64 // bytes of the toc titles
}

type page struct {
	id, image, mediaType string
	fallback             string // JPEG copy of a WebP image, or ""
}

type tocEntry struct {
	title, href string
}

func (b *ebook) Add(img *book.Image) error {
	n := len(b.pages) + 1
	pg := page{id: b.w.id(n), image: b.w.id(n) + img.Ext(), mediaType: img.MediaType()}
	if err := b.z.StoreImage("OEBPS/images/"+pg.image, img); err != nil {
		return fmt.Errorf("epub: %s: %w", pg.image, err)
	}
	if img.Fallback != nil {
		pg.fallback = pg.id + "-fallback.jpg"
		if err := b.z.StoreBytes("OEBPS/images/"+pg.fallback, img.Fallback); err != nil {
			return fmt.Errorf("epub: %s: %w", pg.fallback, err)
		}
	}
	alt := fmt.Sprintf("Page %d", img.Index+1)
	if img.Missing != "" {
		alt = fmt.Sprintf("Page %d is missing: %s", img.Index+1, img.Missing)
	}
	if err := b.z.Deflate("OEBPS/pages/"+pg.id+".xhtml", b.xhtml(pg, img.Width, img.Height, alt)); err != nil {
		return fmt.Errorf("epub: %w", err)
	}
	b.pages = append(b.pages, pg)
	if img.ChapterStart {
		title := b.meta.Title
		if img.Chapter >= 0 && b.meta.Chapters[img.Chapter].Title != "" {
			title = b.meta.Chapters[img.Chapter].Title
		}
		b.toc = append(b.toc, tocEntry{title: title, href: "pages/" + pg.id + ".xhtml"})
		b.tocN += int64(len(title))
	}
	return nil
}

func (b *ebook) Written() int64 { return b.z.Written() }

func (b *ebook) Reserve() int64 {
	docs := b.base + int64(len(b.pages))*400 + 2*b.tocN + int64(len(b.toc))*200
	return b.z.Reserve() + book.ZipEntryCost("OEBPS/content.opf", docs) + book.ZipEntryCost("OEBPS/nav.xhtml", 0)
}

func (b *ebook) Close() error {
	if err := b.z.Deflate("OEBPS/nav.xhtml", b.nav()); err != nil {
		return fmt.Errorf("epub: %w", err)
	}
	if err := b.z.Deflate("OEBPS/content.opf", b.opf(b.pages)); err != nil {
		return fmt.Errorf("epub: %w", err)
	}
	return b.z.Close()
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (b *ebook) title() string {
	t := b.meta.Title
	if b.part > 1 {
		t += fmt.Sprintf(" (part %d)", b.part)
	}
	return t
}

func (b *ebook) xhtml(pg page, w, h int, alt string) []byte {
	var x bytes.Buffer
	fmt.Fprintf(&x, `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="%[1]s" lang="%[1]s">
<head>
<meta charset="UTF-8"/>
<meta name="viewport" content="width=%[2]d, height=%[3]d"/>
<title>%[4]s</title>
<style>html, body { margin: 0; padding: 0; width: %[2]dpx; height: %[3]dpx; } img { display: block; width: %[2]dpx; height: %[3]dpx; }</style>
</head>
<body>
<img src="../images/%[5]s" width="%[2]d" height="%[3]d" alt="%[4]s"/>
</body>
</html>
`, esc(b.lang), w, h, esc(alt), pg.image)
	return x.Bytes()
}

func (b *ebook) nav() []byte {
	var x bytes.Buffer
	fmt.Fprintf(&x, `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="%[1]s" lang="%[1]s">
<head>
<meta charset="UTF-8"/>
<title>%[2]s</title>
</head>
<body>
<nav epub:type="toc" id="toc">
<h1>%[2]s</h1>
<ol>
`, esc(b.lang), esc(b.title()))
	for _, t := range b.toc {
		fmt.Fprintf(&x, "<li><a href=\"%s\">%s</a></li>\n", t.href, esc(t.title))
	}
	if len(b.toc) == 0 {
		// Only while measuring the empty book: a nav list may not be empty.
		fmt.Fprintf(&x, "<li><a href=\"pages/%s.xhtml\">%s</a></li>\n", b.w.id(1), esc(b.title()))
	}
	x.WriteString("</ol>\n</nav>\n</body>\n</html>\n")
	return x.Bytes()
}

// uuid is a name-based (version 5 style) UUID, so that the same chapter
// gets the same identifier every time it is built.
func uuid(name string) string {
	h := sha1.Sum([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (b *ebook) opf(pages []page) []byte {
	m := b.meta
	var x bytes.Buffer
	fmt.Fprintf(&x, `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="%s" prefix="rendition: http://www.idpf.org/vocab/rendition/#">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="uid">urn:uuid:%s</dc:identifier>
<dc:title id="title">%s</dc:title>
<dc:language>%s</dc:language>
`, esc(b.lang), uuid(fmt.Sprintf("%s\x00%s\x00%d", m.Web, m.Title, b.part)), esc(b.title()), esc(b.lang))
	n := 0
	person := func(elem, name, role string) {
		n++
		fmt.Fprintf(&x, "<dc:%s id=\"c%d\">%s</dc:%[1]s>\n<meta refines=\"#c%[2]d\" property=\"role\" scheme=\"marc:relators\">%s</meta>\n", elem, n, esc(name), role)
	}
	for _, a := range m.Writers {
		person("creator", a, "aut")
	}
	for _, a := range m.Artists {
		person("creator", a, "art")
	}
	for _, g := range m.Groups {
		person("contributor", g, "trl")
	}
	if m.Summary != "" {
		fmt.Fprintf(&x, "<dc:description>%s</dc:description>\n", esc(m.Summary))
	}
	if m.Web != "" {
		fmt.Fprintf(&x, "<dc:source>%s</dc:source>\n", esc(m.Web))
	}
	for _, k := range m.Keywords {
		fmt.Fprintf(&x, "<dc:subject>%s</dc:subject>\n", esc(k))
	}
	fmt.Fprintf(&x, "<meta property=\"dcterms:modified\">%s</meta>\n", b.mod.Format("2006-01-02T15:04:05Z"))
	if m.Series != "" {
		fmt.Fprintf(&x, "<meta property=\"belongs-to-collection\" id=\"series\">%s</meta>\n<meta refines=\"#series\" property=\"collection-type\">series</meta>\n", esc(m.Series))
		if m.Number != "" {
			fmt.Fprintf(&x, "<meta refines=\"#series\" property=\"group-position\">%s</meta>\n", esc(m.Number))
		}
		// Calibre's own series fields, which Calibre and Kavita read.
		fmt.Fprintf(&x, "<meta name=\"calibre:series\" content=\"%s\"/>\n", esc(m.Series))
		if m.Number != "" {
			fmt.Fprintf(&x, "<meta name=\"calibre:series_index\" content=\"%s\"/>\n", esc(m.Number))
		}
	}
	spread := "landscape"
	if m.Webtoon {
		spread = "none"
	}
	fmt.Fprintf(&x, `<meta property="rendition:layout">pre-paginated</meta>
<meta property="rendition:orientation">auto</meta>
<meta property="rendition:spread">%s</meta>
`, spread)
	if len(pages) > 0 {
		cover := "img" + pages[0].id
		if pages[0].fallback != "" {
			cover = "fb" + pages[0].id
		}
		fmt.Fprintf(&x, "<meta name=\"cover\" content=\"%s\"/>\n", cover)
	}
	x.WriteString("</metadata>\n<manifest>\n<item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>\n")
	for i, p := range pages {
		// The first page is the cover; its JPEG copy when it is WebP, for
		// readers that make thumbnails from the cover.
		cover := ""
		if i == 0 {
			cover = ` properties="cover-image"`
		}
		props := cover
		if p.fallback != "" {
			props = fmt.Sprintf(` fallback="fb%s"`, p.id)
			fmt.Fprintf(&x, "<item id=\"fb%s\" href=\"images/%s\" media-type=\"image/jpeg\"%s/>\n", p.id, p.fallback, cover)
		}
		fmt.Fprintf(&x, "<item id=\"img%s\" href=\"images/%s\" media-type=\"%s\"%s/>\n", p.id, p.image, p.mediaType, props)
		fmt.Fprintf(&x, "<item id=\"p%s\" href=\"pages/%[1]s.xhtml\" media-type=\"application/xhtml+xml\"/>\n", p.id)
	}
	dir := "ltr"
	if m.RightToLeft {
		dir = "rtl"
	}
	fmt.Fprintf(&x, "</manifest>\n<spine page-progression-direction=\"%s\">\n", dir)
	for _, p := range pages {
		fmt.Fprintf(&x, "<itemref idref=\"p%s\"/>\n", p.id)
	}
	x.WriteString("</spine>\n</package>\n")
	return x.Bytes()
}
