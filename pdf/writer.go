package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// countWriter counts what reaches the buffered output, so object offsets
// are known without seeking.
type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFrom lets io.Copy from a file reach bufio (and from there the
// destination file's ReadFrom, i.e. copy_file_range) without an extra copy.
func (c *countWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := c.w.ReadFrom(r)
	c.n += n
	return n, err
}

func (c *countWriter) printf(format string, a ...any) {
	fmt.Fprintf(c, format, a...)
}

const (
	pagesObj   = 1 // reserved up front so that pages can point at their parent
	catalogObj = 2

	// pageOverhead bounds the bytes a page adds besides its image data and
	// colour space (a palette is up to 1.5 KB of hex): image dictionary,
	// content stream, page object, the Length object, the font object of
	// the first placeholder, their xref entries and the kid reference.
	pageOverhead = 1024
	// docOverhead bounds header, catalog, Pages dictionary, xref header
	// and trailer, not counting the Info dictionary.
	docOverhead = 512
)

// docWriter streams one PDF document. Each object is written when it is
// complete; only the xref offsets and the page object numbers are kept.
type docWriter struct {
	cw      countWriter
	offsets []int64 // by object number; [0] unused
	kids    []int
	font    int    // Helvetica font object, 0 until a placeholder needs it
	info    []byte // Info dictionary, rendered up front to know its size
	lastW   float64
	lastH   float64
}

func newDoc(w io.Writer, info []byte) *docWriter {
	d := &docWriter{cw: countWriter{w: bufio.NewWriterSize(w, 64<<10)}, offsets: make([]int64, 3), info: info}
	// The second line's high bytes mark the file as binary for transfer tools.
	d.cw.printf("%%PDF-1.5\n%%\xe2\xe3\xcf\xd3\n")
	d.begin(catalogObj)
	d.cw.printf("<< /Type /Catalog /Pages %d 0 R >>\nendobj\n", pagesObj)
	return d
}

func (d *docWriter) alloc() int {
	d.offsets = append(d.offsets, 0)
	return len(d.offsets) - 1
}

func (d *docWriter) begin(obj int) {
	d.offsets[obj] = d.cw.n
	d.cw.printf("%d 0 obj\n", obj)
}

// reserve is what finishing the document would still add, counted
// generously; used to decide whether another page fits in a part.
func (d *docWriter) reserve() int64 {
	return docOverhead + int64(len(d.info)) + int64(len(d.kids))*10 + int64(len(d.offsets))*20
}

func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// pageSize is the page's size in PDF units: pixels at dpi, scaled down to
// keep both sides within maxSide.
func pageSize(w, h int, dpi, maxSide float64) (float64, float64) {
	pw, ph := float64(w)*72/dpi, float64(h)*72/dpi
	if s := max(pw, ph); s > maxSide {
		pw, ph = pw*maxSide/s, ph*maxSide/s
	}
	return pw, ph
}

// addImage writes the image XObject, content stream and page object.
func (d *docWriter) addImage(p *pageImage, pw, ph float64) error {
	img := d.alloc()
	var lenObj int
	d.begin(img)
	d.cw.printf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter %s",
		p.w, p.h, p.colorSpace, p.bpc, p.filter)
	if p.decode != "" {
		d.cw.printf(" /Decode %s", p.decode)
	}
	if p.parms != "" {
		d.cw.printf(" /DecodeParms %s", p.parms)
	}
	if p.length >= 0 {
		d.cw.printf(" /Length %d >>\nstream\n", p.length)
	} else {
		// Flate output size is only known afterwards: indirect Length.
		lenObj = d.alloc()
		d.cw.printf(" /Length %d 0 R >>\nstream\n", lenObj)
	}
	start := d.cw.n
	if err := d.imageData(p); err != nil {
		return err
	}
	n := d.cw.n - start
	if p.length >= 0 && n != p.length {
		return fmt.Errorf("pdf: %s: wrote %d bytes, expected %d (file changed?)", p.path, n, p.length)
	}
	d.cw.printf("\nendstream\nendobj\n")
	if lenObj != 0 {
		d.begin(lenObj)
		d.cw.printf("%d\nendobj\n", n)
	}
	content := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q", num(pw), num(ph))
	return d.page(pw, ph, content, fmt.Sprintf("/XObject << /Im0 %d 0 R >>", img))
}

func (d *docWriter) imageData(p *pageImage) error {
	switch p.kind {
	case kindJPEG:
		f, err := os.Open(p.path)
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		defer f.Close()
		_, err = io.Copy(&d.cw, io.LimitReader(f, p.length))
		return err
	case kindPNG:
		f, err := os.Open(p.path)
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		defer f.Close()
		for _, c := range p.idat {
			if _, err := io.Copy(&d.cw, io.NewSectionReader(f, c.off, c.n)); err != nil {
				return err
			}
		}
		return nil
	default:
		if p.pre != nil {
			_, err := io.Copy(&d.cw, io.NewSectionReader(p.pre, 0, p.length))
			return err
		}
		return encodeImage(&d.cw, p)
	}
}

// encodeImage writes a decoded or streamed page as zlib data.
func encodeImage(w io.Writer, p *pageImage) error {
	if p.kind == kindStream {
		f, err := os.Open(p.path)
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		defer f.Close()
		return p.stream.encode(f, w, p.gray)
	}
	return encodePixels(w, p)
}

// encodePixels streams the decoded image as zlib data, one row at a time:
// 8 or 16 (big-endian) bits per sample as p.bpc says.
func encodePixels(w io.Writer, p *pageImage) error {
	zw := zlib.NewWriter(w)
	rows := rgbRows(p.img)
	bps := 1 // bytes per sample
	if p.bpc == 16 {
		rows, bps = rgb16Rows(p.img), 2
	}
	rgb := make([]byte, 3*bps*p.w)
	out := rgb
	if p.gray {
		out = make([]byte, bps*p.w)
	}
	for y := 0; y < p.h; y++ {
		rows(y, rgb)
		if p.gray {
			for x := 0; x < p.w; x++ {
				copy(out[bps*x:bps*x+bps], rgb[3*bps*x:])
			}
		}
		if _, err := zw.Write(out); err != nil {
			return err
		}
	}
	return zw.Close()
}

// preEncode compresses a decoded or streamed page up front so that its
// size is known before deciding which part it goes into. The data goes to
// a temporary file in dir, not memory: a noisy page compresses to nearly
// its decoded size. The file is unlinked at once where the system allows,
// so a killed process leaves nothing behind. The decoded pixels are
// dropped and their budget given back as soon as they are encoded.
func preEncode(p *pageImage, dir string) error {
	if (p.kind != kindDecoded && p.kind != kindStream) || p.pre != nil {
		return nil
	}
	f, err := os.CreateTemp(dir, ".mangabot-page-*.tmp")
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	// Unix lets an open file be unlinked; elsewhere Close removes it.
	p.pre = &spill{File: f, unlinked: os.Remove(f.Name()) == nil}
	cw := &countWriter{w: bufio.NewWriterSize(p.pre, 64<<10)}
	if err := encodeImage(cw, p); err != nil {
		return err
	}
	if err := cw.w.Flush(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	p.length = cw.n
	p.img, p.stream = nil, nil
	if p.release != nil {
		p.release()
		p.release = nil
	}
	return nil
}

// spill is a page encoded up front into a temporary file.
type spill struct {
	*os.File
	unlinked bool
}

func (s *spill) Close() error {
	err := s.File.Close()
	if !s.unlinked {
		os.Remove(s.Name())
	}
	return err
}

// addPlaceholder writes a text-only page saying which page is missing.
func (d *docWriter) addPlaceholder(content []byte, pw, ph float64) error {
	if d.font == 0 {
		d.font = d.alloc()
		d.begin(d.font)
		d.cw.printf("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n")
	}
	return d.page(pw, ph, string(content), fmt.Sprintf("/Font << /F1 %d 0 R >>", d.font))
}

func (d *docWriter) page(pw, ph float64, content, resources string) error {
	c := d.alloc()
	d.begin(c)
	d.cw.printf("<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	pg := d.alloc()
	d.begin(pg)
	d.cw.printf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << %s >> /Contents %d 0 R >>\nendobj\n",
		pagesObj, num(pw), num(ph), resources, c)
	d.kids = append(d.kids, pg)
	d.lastW, d.lastH = pw, ph
	return d.cw.w.Flush()
}

// finish writes the Pages tree, Info, xref table and trailer.
func (d *docWriter) finish() error {
	d.begin(pagesObj)
	d.cw.printf("<< /Type /Pages /Count %d /Kids [", len(d.kids))
	for i, k := range d.kids {
		if i > 0 {
			d.cw.printf(" ")
		}
		d.cw.printf("%d 0 R", k)
	}
	d.cw.printf("] >>\nendobj\n")
	infoObj := d.alloc()
	d.begin(infoObj)
	d.cw.Write(d.info)
	d.cw.printf("\nendobj\n")
	xref := d.cw.n
	d.cw.printf("xref\n0 %d\n0000000000 65535 f \n", len(d.offsets))
	for _, off := range d.offsets[1:] {
		d.cw.printf("%010d 00000 n \n", off)
	}
	d.cw.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		len(d.offsets), catalogObj, infoObj, xref)
	return d.cw.w.Flush()
}

// infoDict renders the document information dictionary.
func infoDict(info Info) []byte {
	var b bytes.Buffer
	b.WriteString("<<")
	for _, kv := range [...]struct{ k, v string }{
		{"Title", info.Title}, {"Author", info.Author}, {"Subject", info.Subject},
		{"Keywords", info.Keywords}, {"Creator", info.Creator}, {"Producer", info.Producer},
	} {
		if kv.v != "" {
			fmt.Fprintf(&b, " /%s %s", kv.k, textString(kv.v))
		}
	}
	t := info.CreationDate
	if t.IsZero() {
		t = time.Now()
	}
	fmt.Fprintf(&b, " /CreationDate %s >>", textString(pdfDate(t)))
	return b.Bytes()
}

func pdfDate(t time.Time) string {
	_, off := t.Zone()
	s := "D:" + t.Format("20060102150405")
	if off == 0 {
		return s + "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off/60%60)
}
