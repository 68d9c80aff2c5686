package pdf

import (
	"bytes"
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

// storeWebP applies mode to a decoded lossy WebP page.
func storeWebP(p *pageImage, mode string, quality int) error {
	switch mode {
	case WebPJPEG:
		return webpToJPEG(p, quality)
	case WebPAuto:
		if err := preEncode(p); err != nil {
			return err
		}
		flate, n := p.pre, p.length
		p.pre = nil
		saved := *p
		if err := webpToJPEG(p, quality); err != nil {
			return err
		}
		if p.length >= n {
			*p = saved
			p.pre, p.length = flate, n
		}
	}
	return nil
}

// webpToJPEG makes a decoded lossy WebP page a JPEG in memory: a lossy
// source gains nothing from lossless storage but bytes.
func webpToJPEG(p *pageImage, quality int) error {
	src, cs := p.img, "/DeviceRGB"
	if p.gray {
		// A grey page (most manga) becomes a one-channel JPEG.
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
	if err != nil {
		return err
	}
	p.pre, p.length = bytes.NewBuffer(b), int64(len(b))
	p.filter, p.parms, p.decode, p.bpc, p.colorSpace = "/DCTDecode", "", "", 8, cs
	p.img = nil
	return nil
}
