package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/gif"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
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

	idat []chunkRef    // kindPNG: where the compressed data lives
	img  image.Image   // kindDecoded
	gray bool          // kindDecoded: every pixel is grey
	pre  *bytes.Buffer // kindDecoded, encoded up front (when splitting)
}

type chunkRef struct{ off, n int64 }

// probe inspects one image file and decides how to embed it. Dimensions are
// read from the header before anything large is decoded, so an image that
// claims too many pixels is refused cheaply.
func probe(path string, maxPixels int64) (*pageImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, skipf("cannot open image: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, skipf("cannot open image: %v", err)
	}
	var head [32]byte
	n, _ := io.ReadFull(f, head[:])
	format := sniff(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, skipf("cannot read image: %v", err)
	}
	switch format {
	case "jpeg":
		return probeJPEG(f, st.Size(), path, maxPixels)
	case "png":
		return probePNG(f, path, maxPixels)
	case "gif", "webp", "bmp", "tiff":
		return probeDecode(f, path, format, maxPixels)
	case "":
		return nil, skipf("not an image")
	default:
		return nil, skipf("unsupported image format %s", format)
	}
}

// sniff names the format from the magic bytes; "" is not an image at all
// (an HTML error page saved as .jpg is the usual case).
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(b, []byte("BM")) && len(b) >= 18:
		return "bmp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "avif", "avis":
			return "avif"
		case "heic", "heix", "mif1", "msf1", "hevc":
			return "heic"
		}
	case bytes.HasPrefix(b, []byte{0xFF, 0x0A}), bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "jxl"
	}
	return ""
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
// make sure it is complete; everything else goes through the decoder.
func probePNG(f *os.File, path string, maxPixels int64) (*pageImage, error) {
	r := bufio.NewReaderSize(f, 32<<10)
	if _, err := r.Discard(8); err != nil {
		return nil, corrupt("png: short file")
	}
	off := int64(8)
	var (
		w, h                   int
		depth, ctype, interlac byte
		plte                   []byte
		trns, end              bool
		idat                   []chunkRef
		idatDone               bool
	)
	hdr := make([]byte, 8)
	for !end {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, corrupt("png: truncated")
		}
		n := int64(binary.BigEndian.Uint32(hdr))
		typ := string(hdr[4:8])
		off += 8
		if n > 1<<31 {
			return nil, corrupt("png: bad chunk length")
		}
		if off == 16 && typ != "IHDR" {
			return nil, corrupt("png: missing IHDR")
		}
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:8])
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
			trns = true
		case "IEND":
			end = true
		}
	}
	if len(idat) == 0 {
		return nil, corrupt("png: no image data")
	}
	var colors int
	switch {
	case ctype == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16):
		colors = 1
	case ctype == 2 && (depth == 8 || depth == 16):
		colors = 3
	case ctype == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8):
		colors = 1
		if len(plte) == 0 || len(plte)%3 != 0 {
			return nil, corrupt("png: bad palette")
		}
	}
	if colors == 0 || interlac != 0 || trns {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, corrupt("png: " + err.Error())
		}
		return probeDecode(f, path, "png", maxPixels)
	}
	// Inflate once to make sure the data is complete and of the right size;
	// a viewer would otherwise show a half-grey page.
	want := int64(h) * (1 + (int64(w)*int64(colors)*int64(depth)+7)/8)
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
	p := &pageImage{path: path, kind: kindPNG, w: w, h: h, bpc: int(depth), filter: "/FlateDecode", idat: idat}
	for _, c := range idat {
		p.length += c.n
	}
	p.parms = fmt.Sprintf("<< /Predictor 15 /Colors %d /BitsPerComponent %d /Columns %d >>", colors, depth, w)
	switch ctype {
	case 0:
		p.colorSpace = "/DeviceGray"
	case 2:
		p.colorSpace = "/DeviceRGB"
	case 3:
		p.colorSpace = fmt.Sprintf("[/Indexed /DeviceRGB %d <%x>]", len(plte)/3-1, plte)
	}
	return p, nil
}

func chunkReaders(f *os.File, idat []chunkRef) []io.Reader {
	rs := make([]io.Reader, len(idat))
	for i, c := range idat {
		rs[i] = io.NewSectionReader(f, c.off, c.n)
	}
	return rs
}

// probeDecode decodes formats that cannot be passed through, after checking
// the header's dimensions.
func probeDecode(f *os.File, path, format string, maxPixels int64) (*pageImage, error) {
	var (
		decodeConfig func(io.Reader) (image.Config, error)
		decode       func(io.Reader) (image.Image, error)
	)
	switch format {
	case "png":
		decodeConfig, decode = png.DecodeConfig, png.Decode
	case "gif":
		// First frame only: manga pages are stills.
		decodeConfig, decode = gif.DecodeConfig, gif.Decode
	case "webp":
		var b [21]byte
		if _, err := io.ReadFull(f, b[:]); err == nil && string(b[12:16]) == "VP8X" && b[20]&0x02 != 0 {
			return nil, skipf("unsupported image format webp (animated)")
		}
		decodeConfig, decode = webp.DecodeConfig, webp.Decode
	case "bmp":
		decodeConfig, decode = bmp.DecodeConfig, bmp.Decode
	case "tiff":
		decodeConfig, decode = tiff.DecodeConfig, tiff.Decode
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, corrupt(err.Error())
	}
	cfg, err := decodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, decodeErr(format, err)
	}
	if err := checkPixels(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, corrupt(err.Error())
	}
	img, err := decode(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, decodeErr(format, err)
	}
	b := img.Bounds()
	if err := checkPixels(b.Dx(), b.Dy(), maxPixels); err != nil {
		return nil, err
	}
	p := &pageImage{path: path, kind: kindDecoded, w: b.Dx(), h: b.Dy(), bpc: 8,
		filter: "/FlateDecode", length: -1, img: img}
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

func decodeErr(format string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return corrupt(format + ": truncated")
	}
	return corrupt(err.Error())
}
