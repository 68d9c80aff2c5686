package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/mangabot/mangabot/internal/imagetype"
)

// pageError is why an input page cannot be used; its text is the reason
// shown in Stats.Skipped and on placeholders.
type pageError struct{ reason string }

func (e *pageError) Error() string { return e.reason }

func skipf(format string, a ...any) error { return &pageError{fmt.Sprintf(format, a...)} }

func corrupt(detail string) error { return skipf("corrupt image: %s", detail) }

type imageKind int

const (
	kindJPEG    imageKind = iota // file copied as DCTDecode
	kindPNG                      // IDAT data copied as FlateDecode with predictors
	kindDecoded                  // decoded, re-encoded with Flate
	kindStream                   // PNG too big to decode, streamed row by row
)

// pageImage is a probed page ready to be written: everything the image
// XObject dictionary needs, and how to produce the stream data.
type pageImage struct {
	path       string
	kind       imageKind
	w, h       int
	colorSpace string // PDF object text, e.g. "/DeviceRGB"
	bpc        int
	decode     string // "" or "[1 0 ...]"
	parms      string // DecodeParms dictionary or ""
	filter     string
	length     int64 // stream length; -1 when only known after writing

	idat   []chunkRef  // kindPNG: where the compressed data lives
	img    image.Image // kindDecoded
	stream *pngStream  // kindStream
	gray   bool        // kindDecoded, kindStream: every pixel is grey
	pre    *spill      // kindDecoded, kindStream: encoded up front (when splitting)
	// release gives the page's decode memory back to the budget; nil when
	// nothing was reserved.
	release func()
}

// done drops the decoded pixels and gives their memory back to the budget.
func (p *pageImage) done() {
	p.img, p.stream = nil, nil
	if p.pre != nil {
		p.pre.Close()
		p.pre = nil
	}
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

type chunkRef struct{ off, n int64 }

// prober holds what probing a page needs besides the file.
type prober struct {
	ctx       context.Context
	maxPixels int64
	budget    *Budget
}

// probe inspects one image file and decides how to embed it. Dimensions are
// read from the header before anything large is decoded, so an image that
// claims too many pixels is refused cheaply, and one that would take more
// memory than the budget allows is streamed or refused before decoding.
// A page that is decoded holds its reservation until done is called.
func (pr *prober) probe(path string) (*pageImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, skipf("cannot open image: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, skipf("cannot open image: %v", err)
	}
	var head [imagetype.HeadSize]byte
	n, _ := io.ReadFull(f, head[:])
	format := imagetype.Sniff(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, skipf("cannot read image: %v", err)
	}
	switch format {
	case imagetype.JPEG:
		return probeJPEG(f, st.Size(), path, pr.maxPixels)
	case imagetype.PNG:
		return pr.probePNG(f, path)
	case imagetype.GIF, imagetype.WebP, imagetype.BMP, imagetype.TIFF:
		return pr.probeDecode(f, path, format)
	case imagetype.Unknown:
		return nil, skipf("not an image")
	default:
		return nil, skipf("unsupported image format %s", format)
	}
}

func checkPixels(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return corrupt(fmt.Sprintf("bad dimensions %dx%d", w, h))
	}
	if int64(w)*int64(h) > maxPixels {
		return skipf("image too large: %dx%d pixels exceeds the limit of %d", w, h, maxPixels)
	}
	return nil
}

// probeJPEG walks the marker segments up to the first scan to find the
// frame header, and checks that the file ends with an EOI marker so that a
// truncated download is not embedded silently. The data itself is never
// decoded.
func probeJPEG(f *os.File, size int64, path string, maxPixels int64) (*pageImage, error) {
	r := bufio.NewReaderSize(f, 4096)
	var off int64 = 2
	if _, err := r.Discard(2); err != nil {
		return nil, corrupt("jpeg: short file")
	}
	var (
		haveSOF   bool
		sof       byte
		prec      byte
		w, h      int
		comps     int
		adobe     bool
		scanStart int64
	)
	for scanStart == 0 {
		c, err := r.ReadByte()
		if err != nil {
			return nil, corrupt("jpeg: truncated header")
		}
		off++
		if c != 0xFF {
			return nil, corrupt("jpeg: bad marker")
		}
		m, err := r.ReadByte()
		off++
		for err == nil && m == 0xFF { // fill bytes
			m, err = r.ReadByte()
			off++
		}
		if err != nil {
			return nil, corrupt("jpeg: truncated header")
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD8) { // no length
			continue
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return nil, corrupt("jpeg: truncated header")
		}
		segLen := int(binary.BigEndian.Uint16(lb[:])) - 2
		if segLen < 0 {
			return nil, corrupt("jpeg: bad segment length")
		}
		off += 2
		var seg []byte
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC, m == 0xEE:
			seg = make([]byte, segLen)
			if _, err := io.ReadFull(r, seg); err != nil {
				return nil, corrupt("jpeg: truncated header")
			}
		default:
			if _, err := r.Discard(segLen); err != nil {
				return nil, corrupt("jpeg: truncated header")
			}
		}
		off += int64(segLen)
		switch {
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobe = true
			}
		case m == 0xDA:
			scanStart = off
		case m == 0xD9:
			return nil, corrupt("jpeg: no image data")
		case len(seg) > 0: // a frame header
			if haveSOF {
				return nil, corrupt("jpeg: several frames")
			}
			if len(seg) < 6 {
				return nil, corrupt("jpeg: short frame header")
			}
			haveSOF, sof, prec = true, m, seg[0]
			h = int(binary.BigEndian.Uint16(seg[1:]))
			w = int(binary.BigEndian.Uint16(seg[3:]))
			comps = int(seg[5])
		}
	}
	if !haveSOF {
		return nil, corrupt("jpeg: no frame header")
	}
	// Baseline, extended sequential and progressive Huffman are what every
	// PDF reader decodes; lossless, arithmetic and 12-bit are not portable.
	if sof > 0xC2 || prec != 8 {
		return nil, skipf("unsupported image format jpeg (SOF%d, %d-bit)", sof-0xC0, prec)
	}
	if h == 0 {
		return nil, skipf("unsupported image format jpeg (height defined by DNL)")
	}
	if err := checkPixels(w, h, maxPixels); err != nil {
		return nil, err
	}
	p := &pageImage{path: path, kind: kindJPEG, w: w, h: h, bpc: 8, filter: "/DCTDecode", length: size}
	switch comps {
	case 1:
		p.colorSpace = "/DeviceGray"
	case 3:
		p.colorSpace = "/DeviceRGB"
	case 4:
		p.colorSpace = "/DeviceCMYK"
		if adobe {
			// Photoshop-style CMYK JPEGs store inverted values.
			p.decode = "[1 0 1 0 1 0 1 0]"
		}
	default:
		return nil, corrupt(fmt.Sprintf("jpeg: %d colour components", comps))
	}
	// In entropy-coded data 0xFF is always followed by 0x00 or RSTn, so an
	// FF D9 after the first scan is the real end marker.
	ok, err := hasEOI(f, scanStart, size)
	if err != nil {
		return nil, corrupt("jpeg: " + err.Error())
	}
	if !ok {
		return nil, corrupt("jpeg: truncated (no end marker)")
	}
	return p, nil
}

// hasEOI looks for the end marker backwards from the end of the file: it is
// normally in the last bytes, but some sites append junk after it, so up to
// 1 MiB is searched.
func hasEOI(f *os.File, from, size int64) (bool, error) {
	var buf [4096]byte
	end := size
	for end > from && size-end < 1<<20 {
		start := max(from, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return false, err
		}
		if bytes.Contains(b, []byte{0xFF, 0xD9}) {
			return true, nil
		}
		end = start + 1 // overlap one byte: the marker may straddle blocks
		if start == from {
			break
		}
	}
	return false, nil
}

// probePNG reads the chunk layout. A non-interlaced, opaque PNG (grey of
// any depth, palette, RGB of 8 or 16 bits) is passed through: its IDAT data
// is a zlib stream with PNG predictors, which is exactly FlateDecode with
// /Predictor 15 (16-bit samples are big-endian in both). The data is
// inflated once here (to nowhere, and no further than the image's size) to
// make sure it is complete; everything else is decoded, or streamed when
// decoding would not fit in the budget.
func (pr *prober) probePNG(f *os.File, path string) (*pageImage, error) {
	hdr, err := readPNGHeader(f, pr.maxPixels)
	if err != nil {
		return nil, err
	}
	if hdr.ctype == 4 || hdr.ctype == 6 || hdr.interlaced || hdr.trns != nil {
		return pr.decodePNG(f, path, hdr)
	}
	w, h, depth, idat := hdr.w, hdr.h, hdr.depth, hdr.idat
	colors := hdr.channels()
	// Inflate once to make sure the data is complete and of the right size;
	// a viewer would otherwise show a half-grey page.
	want := hdr.dataBytes(hdr.passes()[0])
	zr, err := zlib.NewReader(io.MultiReader(chunkReaders(f, idat)...))
	if err != nil {
		return nil, corrupt("png: " + err.Error())
	}
	// Bounded: a few KB of IDAT can inflate to gigabytes of zeros, and only
	// want bytes are of any use. One more byte tells "too much" apart.
	got, err := io.Copy(io.Discard, io.LimitReader(zr, want+1))
	if err != nil {
		return nil, corrupt("png: " + err.Error())
	}
	if got > want {
		return nil, corrupt(fmt.Sprintf("png: more pixel data than the %d bytes a %dx%d image holds", want, w, h))
	}
	if got != want {
		return nil, corrupt(fmt.Sprintf("png: %d bytes of pixel data, want %d", got, want))
	}
	p := &pageImage{path: path, kind: kindPNG, w: w, h: h, bpc: depth, filter: "/FlateDecode", idat: idat}
	for _, c := range idat {
		p.length += c.n
	}
	p.parms = fmt.Sprintf("<< /Predictor 15 /Colors %d /BitsPerComponent %d /Columns %d >>", colors, depth, w)
	switch hdr.ctype {
	case 0:
		p.colorSpace = "/DeviceGray"
	case 2:
		p.colorSpace = "/DeviceRGB"
	case 3:
		p.colorSpace = fmt.Sprintf("[/Indexed /DeviceRGB %d <%x>]", len(hdr.plte)/3-1, hdr.plte)
	}
	return p, nil
}

// readPNGHeader walks the chunks of the PNG f (checking every CRC) and
// returns the header, palette, tRNS and where the IDAT data lies. An image
// of more than maxPixels is refused from IHDR, before reading on.
func readPNGHeader(f *os.File, maxPixels int64) (*pngHeader, error) {
	r := bufio.NewReaderSize(f, 32<<10)
	if _, err := r.Discard(8); err != nil {
		return nil, corrupt("png: short file")
	}
	off := int64(8)
	var (
		w, h                   int
		depth, ctype, interlac byte
		plte, trns             []byte
		end                    bool
		idat                   []chunkRef
		idatDone               bool
	)
	chunkHdr := make([]byte, 8)
	for !end {
		if _, err := io.ReadFull(r, chunkHdr); err != nil {
			return nil, corrupt("png: truncated")
		}
		n := int64(binary.BigEndian.Uint32(chunkHdr))
		typ := string(chunkHdr[4:8])
		off += 8
		if n > 1<<31 {
			return nil, corrupt("png: bad chunk length")
		}
		if off == 16 && typ != "IHDR" {
			return nil, corrupt("png: missing IHDR")
		}
		crc := crc32.NewIEEE()
		crc.Write(chunkHdr[4:8])
		var data []byte
		switch typ {
		case "IHDR", "PLTE", "tRNS":
			if n > 1024 {
				return nil, corrupt("png: oversized " + typ)
			}
			data = make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, corrupt("png: truncated")
			}
			crc.Write(data)
		default:
			if typ == "IDAT" {
				if idatDone {
					return nil, corrupt("png: IDAT chunks not consecutive")
				}
				idat = append(idat, chunkRef{off, n})
			} else if len(idat) > 0 {
				idatDone = true
			}
			if _, err := io.CopyN(crc, r, n); err != nil {
				return nil, corrupt("png: truncated")
			}
		}
		var cb [4]byte
		if _, err := io.ReadFull(r, cb[:]); err != nil {
			return nil, corrupt("png: truncated")
		}
		if binary.BigEndian.Uint32(cb[:]) != crc.Sum32() {
			return nil, corrupt("png: bad checksum in " + typ)
		}
		off += n + 4
		switch typ {
		case "IHDR":
			if len(data) != 13 {
				return nil, corrupt("png: bad IHDR")
			}
			w = int(binary.BigEndian.Uint32(data[0:]))
			h = int(binary.BigEndian.Uint32(data[4:]))
			depth, ctype, interlac = data[8], data[9], data[12]
			if w > 1<<30 || h > 1<<30 {
				return nil, corrupt("png: bad dimensions")
			}
			// Refuse a bomb before reading any further.
			if err := checkPixels(w, h, maxPixels); err != nil {
				return nil, err
			}
		case "PLTE":
			plte = data
		case "tRNS":
			trns = data
		case "IEND":
			end = true
		}
	}
	if len(idat) == 0 {
		return nil, corrupt("png: no image data")
	}
	hdr := &pngHeader{w: w, h: h, depth: int(depth), ctype: ctype, interlaced: interlac != 0,
		plte: plte, trns: trns, idat: idat}
	if !hdr.validDepth() || interlac > 1 {
		return nil, corrupt(fmt.Sprintf("png: bad format (colour type %d, bit depth %d, interlace %d)", ctype, depth, interlac))
	}
	if ctype == 3 && (len(plte) == 0 || len(plte)%3 != 0) {
		return nil, corrupt("png: bad palette")
	}
	return hdr, nil
}

func chunkReaders(f *os.File, idat []chunkRef) []io.Reader {
	rs := make([]io.Reader, len(idat))
	for i, c := range idat {
		rs[i] = io.NewSectionReader(f, c.off, c.n)
	}
	return rs
}

// pngDecodedBytes is the size of the image image/png decodes hdr to: one
// byte per pixel for palette and 8-bit grey, 4 for 8-bit colour or any
// alpha, twice that at 16 bits. Interlaced images also hold the largest
// pass (half the image) while merging.
func pngDecodedBytes(hdr *pngHeader) int64 {
	var bpp int64
	switch {
	case hdr.ctype == 3:
		bpp = 1
	case hdr.ctype == 0 && hdr.trns == nil:
		bpp = 1
	default:
		bpp = 4
	}
	if hdr.depth == 16 {
		bpp *= 2
	}
	n := int64(hdr.w) * int64(hdr.h) * bpp
	if hdr.interlaced {
		n += n / 2
	}
	return n
}

// decodePNG decodes a PNG that cannot be passed through, or streams it when
// the decoded image would not fit in the budget.
func (pr *prober) decodePNG(f *os.File, path string, hdr *pngHeader) (*pageImage, error) {
	need := pngDecodedBytes(hdr) + decodeSlack
	if need <= pr.budget.Size() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, corrupt("png: " + err.Error())
		}
		return pr.decode(f, path, imagetype.PNG, need)
	}
	need = hdr.streamCost()
	if need > pr.budget.Size() {
		return nil, pr.budget.tooBig(hdr.w, hdr.h, need, "stream")
	}
	release, err := pr.budget.take(pr.ctx, need)
	if err != nil {
		return nil, err
	}
	s := &pngStream{h: hdr, path: path}
	gray, err := s.scan(f)
	if err != nil {
		release()
		return nil, err
	}
	p := &pageImage{path: path, kind: kindStream, w: hdr.w, h: hdr.h, bpc: 8,
		filter: "/FlateDecode", length: -1, stream: s, gray: gray, release: release}
	p.colorSpace = "/DeviceRGB"
	if gray {
		p.colorSpace = "/DeviceGray"
	}
	return p, nil
}

// decodeSlack covers a decoder's buffers besides the image itself.
const decodeSlack = 1 << 20

// decodeCost is the memory decoding takes, from the header: the image in
// the decoder's pixel type, plus what the decoder holds besides. WebP
// lossless and alpha decode through a 4-byte-per-pixel buffer; TIFF
// decompresses a strip (possibly the whole image) into a buffer first.
func decodeCost(format imagetype.Type, cfg image.Config, fileSize int64) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	var bpp int64 = 8 // unknown models: assume the widest
	switch m := cfg.ColorModel; m {
	case color.GrayModel, color.AlphaModel:
		bpp = 1
	case color.Gray16Model, color.Alpha16Model:
		bpp = 2
	case color.YCbCrModel:
		bpp = 3
	case color.RGBAModel, color.NRGBAModel, color.NYCbCrAModel, color.CMYKModel:
		bpp = 4
	default:
		if _, ok := m.(color.Palette); ok {
			bpp = 1
		}
	}
	n := px * bpp
	switch format {
	case imagetype.WebP:
		if bpp != 3 {
			n += 4 * px
		}
	case imagetype.TIFF:
		n *= 2
	}
	return n + fileSize + decodeSlack
}

// probeDecode decodes formats that cannot be passed through, after checking
// the header's dimensions and the memory decoding takes.
func (pr *prober) probeDecode(f *os.File, path string, format imagetype.Type) (*pageImage, error) {
	if format == imagetype.WebP {
		var b [21]byte
		if _, err := io.ReadFull(f, b[:]); err == nil && string(b[12:16]) == "VP8X" && b[20]&0x02 != 0 {
			return nil, skipf("unsupported image format webp (animated)")
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, corrupt(err.Error())
	}
	cfg, err := decoderFor(format).config(bufio.NewReader(f))
	if err != nil {
		return nil, decodeErr(format, err)
	}
	if err := checkPixels(cfg.Width, cfg.Height, pr.maxPixels); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, corrupt(err.Error())
	}
	need := decodeCost(format, cfg, st.Size())
	if need > pr.budget.Size() {
		return nil, pr.budget.tooBig(cfg.Width, cfg.Height, need, "decode")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, corrupt(err.Error())
	}
	return pr.decode(f, path, format, need)
}

type decoder struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

func decoderFor(format imagetype.Type) decoder {
	switch format {
	case imagetype.PNG:
		return decoder{png.DecodeConfig, png.Decode}
	case imagetype.GIF:
		// First frame only: manga pages are stills.
		return decoder{gif.DecodeConfig, gif.Decode}
	case imagetype.WebP:
		return decoder{webp.DecodeConfig, webp.Decode}
	case imagetype.BMP:
		return decoder{bmp.DecodeConfig, bmp.Decode}
	case imagetype.TIFF:
		return decoder{tiff.DecodeConfig, tiff.Decode}
	}
	panic("pdf: no decoder for " + string(format))
}

// decode reserves need bytes of the budget (waiting for other pages to
// finish) and decodes f, read from its start. The reservation is held until
// the page is written (pageImage.done).
func (pr *prober) decode(f *os.File, path string, format imagetype.Type, need int64) (*pageImage, error) {
	release, err := pr.budget.take(pr.ctx, need)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bufio.NewReaderSize(f, 64<<10)
	if format == imagetype.TIFF {
		r = f // a ReaderAt: the TIFF decoder would otherwise copy the file into memory
	}
	img, err := decoderFor(format).decode(r)
	if err != nil {
		release()
		return nil, decodeErr(format, err)
	}
	b := img.Bounds()
	if err := checkPixels(b.Dx(), b.Dy(), pr.maxPixels); err != nil {
		release()
		return nil, err
	}
	p := &pageImage{path: path, kind: kindDecoded, w: b.Dx(), h: b.Dy(), bpc: 8,
		filter: "/FlateDecode", length: -1, img: img, release: release}
	if is16(img) {
		// 16-bit PNG with alpha or interlace, 16-bit TIFF: keep the
		// precision (alpha is composited on white at 16 bits).
		p.bpc = 16
	}
	p.gray = isGray(img)
	if p.gray {
		p.colorSpace = "/DeviceGray"
	} else {
		p.colorSpace = "/DeviceRGB"
	}
	return p, nil
}

func decodeErr(format imagetype.Type, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return corrupt(string(format) + ": truncated")
	}
	return corrupt(err.Error())
}
