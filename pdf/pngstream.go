package pdf

import (
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"os"
)

// A PNG too big to decode within the budget is streamed instead: its IDAT
// data is inflated and de-filtered one row at a time, every sample is
// converted to 8 bits composited on white, and the rows are deflated into
// the PDF stream. Memory is a few rows, whatever the page's height.
// Interlaced (Adam7) images are streamed too: each of the seven passes gets
// its own inflater, and each output row takes its pixels from the passes
// that contain it. Passes come one after another in the data, so starting a
// reader at pass k means inflating passes 1..k-1 to nowhere; as each pass
// is twice the one before, that costs about one extra inflate in all.

// pngHeader is what probePNG learns from the chunks.
type pngHeader struct {
	w, h       int
	depth      int  // bits per sample: 1, 2, 4, 8 or 16
	ctype      byte // PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
	interlaced bool
	plte       []byte // RGB triplets
	trns       []byte // tRNS chunk data; nil when absent
	idat       []chunkRef
}

// channels per pixel by colour type (0 marks an invalid type).
func (h *pngHeader) channels() int {
	switch h.ctype {
	case 0, 3:
		return 1
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 0
}

// validDepth reports whether the bit depth is allowed for the colour type.
func (h *pngHeader) validDepth() bool {
	switch h.ctype {
	case 0:
		return h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8 || h.depth == 16
	case 3:
		return h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8
	case 2, 4, 6:
		return h.depth == 8 || h.depth == 16
	}
	return false
}

// rowBytes is the size of one row of w pixels, without the filter byte.
func (h *pngHeader) rowBytes(w int) int64 {
	return (int64(w)*int64(h.channels()*h.depth) + 7) / 8
}

// filterUnit is the byte distance the Sub, Average and Paeth filters look
// back: one pixel, at least one byte.
func (h *pngHeader) filterUnit() int { return max(1, h.channels()*h.depth/8) }

// adam7 gives each pass's first column and row and its steps.
var adam7 = [7]struct{ x0, y0, dx, dy int }{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// pass is one run of rows in the data: the whole image, or an Adam7 pass.
type pass struct{ x0, y0, dx, dy, w, h int }

func (h *pngHeader) passes() []pass {
	if !h.interlaced {
		return []pass{{0, 0, 1, 1, h.w, h.h}}
	}
	ps := make([]pass, 0, 7)
	for _, a := range adam7 {
		p := pass{a.x0, a.y0, a.dx, a.dy, 0, 0}
		if h.w > a.x0 && h.h > a.y0 {
			p.w = (h.w - a.x0 + a.dx - 1) / a.dx
			p.h = (h.h - a.y0 + a.dy - 1) / a.dy
		}
		ps = append(ps, p)
	}
	return ps
}

// dataBytes is the inflated size of a pass: an empty pass has no bytes at
// all, not even filter bytes.
func (h *pngHeader) dataBytes(p pass) int64 {
	if p.w == 0 || p.h == 0 {
		return 0
	}
	return int64(p.h) * (1 + h.rowBytes(p.w))
}

// streamCost is the memory streaming takes: row buffers for every pass
// (two each, for the Up/Average/Paeth filters), one row of 16-bit RGBA and
// one of output, and the inflaters (about 50 KB each) and the deflater
// (about 800 KB), measured with compress/zlib.
func (h *pngHeader) streamCost() int64 {
	n := int64(3 << 19)
	for _, p := range h.passes() {
		n += 2 * (1 + h.rowBytes(p.w))
	}
	return n + 8*int64(h.w) + 3*int64(h.w)
}

// inflater opens a fresh zlib reader over the IDAT data.
func (h *pngHeader) inflater(f *os.File) (io.ReadCloser, error) {
	zr, err := zlib.NewReader(io.MultiReader(chunkReaders(f, h.idat)...))
	if err != nil {
		return nil, corrupt("png: " + err.Error())
	}
	return zr, nil
}

// rowReader de-filters the rows of one pass.
type rowReader struct {
	r         io.Reader
	unit      int
	cur, prev []byte // filter byte, then the row
}

func newRowReader(r io.Reader, h *pngHeader, p pass) *rowReader {
	n := 1 + h.rowBytes(p.w)
	return &rowReader{r: r, unit: h.filterUnit(), cur: make([]byte, n), prev: make([]byte, n)}
}

// next returns the next de-filtered row (valid until the following call).
func (rr *rowReader) next() ([]byte, error) {
	rr.cur, rr.prev = rr.prev, rr.cur
	if _, err := io.ReadFull(rr.r, rr.cur); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt("png: not enough pixel data")
		}
		return nil, corrupt("png: " + err.Error())
	}
	if err := unfilter(rr.cur[0], rr.cur[1:], rr.prev[1:], rr.unit); err != nil {
		return nil, err
	}
	return rr.cur[1:], nil
}

// unfilter undoes the PNG filter ft on cur, given the previous row prev
// (all zero for a pass's first row) and the filter unit.
func unfilter(ft byte, cur, prev []byte, unit int) error {
	switch ft {
	case 0:
	case 1: // Sub
		for i := unit; i < len(cur); i++ {
			cur[i] += cur[i-unit]
		}
	case 2: // Up
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3: // Average
		for i := 0; i < unit && i < len(cur); i++ {
			cur[i] += prev[i] / 2
		}
		for i := unit; i < len(cur); i++ {
			cur[i] += byte((int(cur[i-unit]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := 0; i < unit && i < len(cur); i++ {
			cur[i] += prev[i] // the predictor of (0, b, 0) is b
		}
		for i := unit; i < len(cur); i++ {
			cur[i] += paeth(cur[i-unit], prev[i], prev[i-unit])
		}
	default:
		return corrupt(fmt.Sprintf("png: bad filter type %d", ft))
	}
	return nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// expander turns raw rows of any PNG format into 16-bit non-premultiplied
// RGBA, applying the palette and tRNS the way Go's image/png does.
type expander struct {
	h       *pngHeader
	pal     [256][4]uint16 // palette with alpha; indexes past it are opaque black
	key     [3]uint16      // tRNS colour key (grey in [0]), as raw sample values
	haveKey bool
}

func newExpander(h *pngHeader) (*expander, error) {
	e := &expander{h: h}
	switch h.ctype {
	case 3:
		if len(h.plte) == 0 || len(h.plte)%3 != 0 || len(h.plte) > 3*256 {
			return nil, corrupt("png: bad palette")
		}
		if len(h.trns) > 256 {
			return nil, corrupt("png: bad tRNS")
		}
		for i := range e.pal {
			e.pal[i][3] = 0xffff
		}
		for i := 0; i < len(h.plte)/3; i++ {
			e.pal[i] = [4]uint16{uint16(h.plte[3*i]) * 257, uint16(h.plte[3*i+1]) * 257, uint16(h.plte[3*i+2]) * 257, 0xffff}
		}
		// Like image/png: a tRNS longer than the palette gives the black
		// entries past it an alpha too.
		for i, a := range h.trns {
			e.pal[i][3] = uint16(a) * 257
		}
	case 0, 2:
		if h.trns == nil {
			break
		}
		if len(h.trns) != 2*h.channels() {
			return nil, corrupt("png: bad tRNS")
		}
		e.haveKey = true
		for i := 0; i < h.channels(); i++ {
			v := uint16(h.trns[2*i])<<8 | uint16(h.trns[2*i+1])
			if h.depth <= 8 {
				v &= 0xff // image/png compares the low byte only
			}
			e.key[i] = v
		}
	default:
		if h.trns != nil {
			return nil, corrupt("png: tRNS with an alpha channel")
		}
	}
	return e, nil
}

// expand converts n pixels of raw into dst (4 samples per pixel).
func (e *expander) expand(raw []byte, n int, dst []uint16) {
	h := e.h
	if h.depth < 8 {
		// Grey or palette of 1, 2 or 4 bits, most significant first.
		per := 8 / h.depth
		mask := byte(1<<h.depth - 1)
		scale := uint16(0xffff / uint32(mask))
		for x := range n {
			v := raw[x/per] >> (8 - h.depth*(x%per+1)) & mask
			d := dst[4*x : 4*x+4 : 4*x+4]
			if h.ctype == 3 {
				p := e.pal[v]
				d[0], d[1], d[2], d[3] = p[0], p[1], p[2], p[3]
				continue
			}
			g := uint16(v) * scale
			d[0], d[1], d[2], d[3] = g, g, g, 0xffff
			if e.haveKey && uint16(v) == e.key[0] {
				d[3] = 0
			}
		}
		return
	}
	bps := h.depth / 8
	ch := h.channels()
	sample := func(i int) uint16 { // raw sample i at full depth
		if bps == 2 {
			return uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		return uint16(raw[i])
	}
	wide := func(v uint16) uint16 { // raw sample to 16 bits
		if bps == 2 {
			return v
		}
		return v * 257
	}
	for x := range n {
		d := dst[4*x : 4*x+4 : 4*x+4]
		s := x * ch
		switch h.ctype {
		case 0:
			v := sample(s)
			g := wide(v)
			d[0], d[1], d[2], d[3] = g, g, g, 0xffff
			if e.haveKey && v == e.key[0] {
				d[3] = 0
			}
		case 2:
			r, g, b := sample(s), sample(s+1), sample(s+2)
			d[0], d[1], d[2], d[3] = wide(r), wide(g), wide(b), 0xffff
			if e.haveKey && r == e.key[0] && g == e.key[1] && b == e.key[2] {
				d[3] = 0
			}
		case 3:
			p := e.pal[raw[x]]
			d[0], d[1], d[2], d[3] = p[0], p[1], p[2], p[3]
		case 4:
			g := wide(sample(s))
			d[0], d[1], d[2], d[3] = g, g, g, wide(sample(s+1))
		case 6:
			d[0], d[1], d[2], d[3] = wide(sample(s)), wide(sample(s+1)), wide(sample(s+2)), wide(sample(s+3))
		}
	}
}

// compose8 composites n 16-bit RGBA pixels onto white at 16 bits and
// rounds to 8-bit grey (1 byte per pixel) or RGB (3).
func compose8(src []uint16, n int, gray bool, out []byte) {
	for x := range n {
		s := src[4*x : 4*x+4 : 4*x+4]
		r, g, b := uint32(s[0]), uint32(s[1]), uint32(s[2])
		if a := uint32(s[3]); a != 0xffff {
			r, g, b = over16(r, a), over16(g, a), over16(b, a)
		}
		if gray {
			out[x] = to8(r)
		} else {
			out[3*x], out[3*x+1], out[3*x+2] = to8(r), to8(g), to8(b)
		}
	}
}

// grayPalette reports whether every palette entry is neutral once
// composited, so that a palette image can be stored as grey unscanned.
func (e *expander) grayPalette() bool {
	var px [4]uint16
	var out [3]byte
	for _, p := range e.pal {
		px = p
		compose8(px[:], 1, false, out[:])
		if out[0] != out[1] || out[0] != out[2] {
			return false
		}
	}
	return true
}

// pngStream is a PNG page written by streaming.
type pngStream struct {
	h    *pngHeader
	path string
}

// scan reads all the data once before anything is written, so that a
// corrupt page becomes a placeholder instead of failing the document
// halfway through its stream. It checks the amount of data and its
// checksum, and tells whether the composited page is grey.
func (s *pngStream) scan(f *os.File) (gray bool, err error) {
	e, err := newExpander(s.h)
	if err != nil {
		return false, err
	}
	switch s.h.ctype {
	case 0, 4:
		gray = true
	case 3:
		gray = e.grayPalette()
	}
	checkGray := !gray && s.h.ctype != 3
	gray = gray || checkGray
	zr, err := s.h.inflater(f)
	if err != nil {
		return false, err
	}
	defer zr.Close()
	wide := make([]uint16, 4*s.h.w)
	out := make([]byte, 3*s.h.w)
	for _, p := range s.h.passes() {
		if s.h.dataBytes(p) == 0 {
			continue
		}
		rr := newRowReader(zr, s.h, p)
		for range p.h {
			raw, err := rr.next()
			if err != nil {
				return false, err
			}
			if !checkGray || !gray {
				continue
			}
			e.expand(raw, p.w, wide)
			compose8(wide, p.w, false, out)
			for i := 0; i < 3*p.w; i += 3 {
				if out[i] != out[i+1] || out[i] != out[i+2] {
					gray = false
					break
				}
			}
		}
	}
	// Read to the end: this checks the Adler-32, and data past the image
	// is an error, as it is for image/png.
	var one [1]byte
	n, err := io.ReadFull(zr, one[:])
	switch {
	case n > 0:
		return false, corrupt("png: more pixel data than the image holds")
	case err != io.EOF:
		return false, corrupt(fmt.Sprintf("png: %v", err))
	}
	return gray, nil
}

// encode writes the page as zlib-compressed 8-bit rows.
func (s *pngStream) encode(f *os.File, w io.Writer, gray bool) error {
	e, err := newExpander(s.h)
	if err != nil {
		return err
	}
	ps := s.h.passes()
	readers := make([]*rowReader, len(ps))
	var skip int64 // data of the passes before this one
	for i, p := range ps {
		n := s.h.dataBytes(p)
		if n == 0 {
			continue
		}
		zr, err := s.h.inflater(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		if _, err := io.CopyN(io.Discard, zr, skip); err != nil {
			return corrupt("png: " + err.Error())
		}
		readers[i] = newRowReader(zr, s.h, p)
		skip += n
	}
	wide := make([]uint16, 4*s.h.w)
	part := wide
	if s.h.interlaced {
		part = make([]uint16, 4*s.h.w) // no pass is wider than the image
	}
	spp := 3
	if gray {
		spp = 1
	}
	out := make([]byte, spp*s.h.w)
	zw := zlib.NewWriter(w)
	for y := range s.h.h {
		for i, p := range ps {
			if readers[i] == nil || y < p.y0 || (y-p.y0)%p.dy != 0 {
				continue
			}
			raw, err := readers[i].next()
			if err != nil {
				return err
			}
			if !s.h.interlaced {
				e.expand(raw, p.w, wide)
				continue
			}
			e.expand(raw, p.w, part)
			for k := range p.w {
				x := p.x0 + k*p.dx
				copy(wide[4*x:4*x+4], part[4*k:4*k+4])
			}
		}
		compose8(wide, s.h.w, gray, out)
		if _, err := zw.Write(out); err != nil {
			return err
		}
	}
	return zw.Close()
}
