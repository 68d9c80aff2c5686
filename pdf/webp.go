package pdf

import (
	"fmt"
	"image"
	"io"
	"os"

	"github.com/mangabot/mangabot/book"
)

// Lossy WebP pages (Options.LossyWebP).
const (
	// WebPLossless decodes and stores the pixels losslessly (Flate): exact,
	// but a lossy WebP page grows several times.
	WebPLossless = "lossless"
	// WebPJPEG re-encodes the pixels as JPEG at Options.JPEGQuality.
	WebPJPEG = "jpeg"
	// WebPAuto encodes each lossy WebP page both ways and keeps the smaller:
	// clean line art is smaller lossless, grainy scans and colour as JPEG
	// (see README for the measurements).
	WebPAuto = "auto"

	defaultJPEGQuality = 90
)

// isLossyWebP says whether the file is a WebP whose image data is VP8
// (lossy; with or without an alpha chunk), not VP8L (lossless).
func isLossyWebP(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [12]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:4]) != "RIFF" || string(head[8:12]) != "WEBP" {
		return false
	}
	// Walk the chunks: VP8X and ALPH may come before the image data.
	for range 16 {
		var ch [8]byte
		if _, err := io.ReadFull(f, ch[:]); err != nil {
			return false
		}
		switch string(ch[:4]) {
		case "VP8 ":
			return true
		case "VP8L", "ANIM":
			return false
		}
		n := int64(ch[4]) | int64(ch[5])<<8 | int64(ch[6])<<16 | int64(ch[7])<<24
		if _, err := f.Seek(n+n&1, io.SeekCurrent); err != nil {
			return false
		}
	}
	return false
}

// storeWebP applies mode to a decoded lossy WebP page; dir takes the
// encoded page (see preEncode).
func storeWebP(p *pageImage, mode string, quality int, dir string) error {
	jpg, cs, err := jpegOf(p, quality)
	if err != nil {
		return err
	}
	if mode == WebPAuto {
		// Lossless too, and keep the smaller.
		if err := preEncode(p, dir); err != nil {
			return err
		}
		if p.length <= int64(len(jpg)) {
			return nil
		}
		p.pre.Close()
		p.pre = nil
	}
	f, err := os.CreateTemp(dir, ".mangabot-page-*.tmp")
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	p.pre = &spill{File: f, unlinked: os.Remove(f.Name()) == nil}
	if _, err := f.Write(jpg); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	p.length = int64(len(jpg))
	p.filter, p.parms, p.decode, p.bpc, p.colorSpace = "/DCTDecode", "", "", 8, cs
	// The pixels are no longer needed: give their memory back.
	p.img = nil
	if p.release != nil {
		p.release()
		p.release = nil
	}
	return nil
}

// jpegOf encodes a decoded lossy WebP page as JPEG (grey pages, most
// manga, one-channel) and names its colour space.
func jpegOf(p *pageImage, quality int) ([]byte, string, error) {
	src, cs := p.img, "/DeviceRGB"
	if p.gray {
		g := image.NewGray(image.Rect(0, 0, p.w, p.h))
		rows, rgb := rgbRows(p.img), make([]byte, 3*p.w)
		for y := range p.h {
			rows(y, rgb)
			row := g.Pix[y*g.Stride:]
			for x := range p.w {
				row[x] = rgb[3*x]
			}
		}
		src, cs = g, "/DeviceGray"
	}
	b, err := book.JPEG(src, quality)
	return b, cs, err
}
