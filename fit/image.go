package fit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"

	// Decoders for every format the PDF writer takes, so each page's
	// size is counted and it can be re-encoded.
	_ "image/gif"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// maxPixels refuses to decode a page above this many pixels (the PDF
// writer refuses the same pages); such pages are left as they are.
const maxPixels = 150e6

// source is a page file as found on disk.
type source struct {
	path   string
	format string // "jpeg", "png", "webp", "gif", ...
	bytes  int64
	w, h   int
}

// lossless reports whether the PDF writer would store the page without
// JPEG's compression (PNG data as is, other formats re-encoded with
// Flate): converting a photographic one to JPEG is the cheapest win.
func (s source) lossless() bool { return s.format != "jpeg" }

// inspect reads a page's format and size from its header.
func inspect(path string) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return source{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return source{}, err
	}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return source{}, fmt.Errorf("read image header: %w", err)
	}
	return source{path: path, format: format, bytes: st.Size(), w: cfg.Width, h: cfg.Height}, nil
}

// errTooBig marks pages fit leaves alone because decoding them would take
// too much memory.
var errTooBig = errors.New("too many pixels to re-encode")

// decode reads a whole page.
func decode(s source) (image.Image, error) {
	if int64(s.w)*int64(s.h) > maxPixels {
		return nil, errTooBig
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.path, err)
	}
	return img, nil
}

// flatten draws a page with transparency over white, as a reader shows
// it; JPEG has no alpha and would turn transparent pixels black.
func flatten(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); !ok || o.Opaque() {
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Over)
	return dst
}

// encodeJPEG compresses img; *image.Gray becomes a one-channel JPEG
// (DeviceGray in the PDF), everything else YCbCr 4:2:0.
func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scaleToWidth resizes img to width w (height in proportion); images no
// wider than w come back as they are.
func scaleToWidth(img image.Image, w int) image.Image {
	if w <= 0 || img.Bounds().Dx() <= w {
		return img
	}
	return resizeWidth(img, w)
}

// resizeWidth scales img to width w either way, keeping its aspect.
func resizeWidth(img image.Image, w int) image.Image {
	b := img.Bounds()
	h := max(1, (b.Dy()*w+b.Dx()/2)/b.Dx())
	r := image.Rect(0, 0, w, h)
	var dst draw.Image
	if isGrayModel(img) {
		dst = image.NewGray(r)
	} else {
		dst = image.NewRGBA(r)
	}
	// Catmull-Rom keeps line art crisp where bilinear would blur it;
	// downscaling is the last resort, so its cost is paid rarely.
	draw.CatmullRom.Scale(dst, r, img, b, draw.Src, nil)
	return dst
}

func isGrayModel(img image.Image) bool {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	}
	return img.ColorModel() == color.GrayModel
}

// toGray converts img to one channel (ITU-R 601 luma, as JPEG uses).
func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	if yc, ok := img.(*image.YCbCr); ok {
		// JPEG pages: the Y plane already is the luma.
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], yc.Y[yc.YOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	}
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}

// Detection thresholds. A pixel is coloured when its channels spread more
// than chromaSpread apart (JPEG noise on grey scans stays well below);
// a page is black-and-white when fewer than grayShare of its pixels are
// coloured, so a grey page with a small red stamp stays colour.
const (
	chromaSpread = 28
	grayShare    = 0.0005
)

// isGrayPage reports whether every part of the page is grey, sampling a
// grid of about 250,000 pixels.
func isGrayPage(img image.Image) bool {
	if isGrayModel(img) {
		return true
	}
	b := img.Bounds()
	step := gridStep(b, 250_000)
	var n, coloured int
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step {
			r, g, bl := rgb8(img, x, y)
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > chromaSpread {
				coloured++
			}
			n++
		}
	}
	return float64(coloured) <= grayShare*float64(n)
}

// isPhotographic tells scans and photos (noisy, many tones: JPEG wins)
// from clean digital line art and flat colour (few exact colours and long
// runs of equal pixels: PNG wins and JPEG would ring around the lines).
func isPhotographic(img image.Image) bool {
	b := img.Bounds()
	step := gridStep(b, 250_000)
	colours := map[uint32]struct{}{}
	var pairs, equal int
	for y := b.Min.Y; y < b.Max.Y; y += step {
		var pr, pg, pb int = -1, -1, -1
		// Neighbours are compared at full resolution along the row.
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb8(img, x, y)
			if pr >= 0 {
				pairs++
				if r == pr && g == pg && bl == pb {
					equal++
				}
			}
			pr, pg, pb = r, g, bl
			if (x-b.Min.X)%step == 0 && len(colours) <= 4096 {
				colours[uint32(r)<<16|uint32(g)<<8|uint32(bl)] = struct{}{}
			}
		}
	}
	if pairs == 0 {
		return false
	}
	flat := float64(equal) / float64(pairs)
	return len(colours) > 64 && flat < 0.5
}

func gridStep(b image.Rectangle, samples int) int {
	step := 1
	for b.Dx()/step*(b.Dy()/step) > samples {
		step++
	}
	return step
}

func rgb8(img image.Image, x, y int) (int, int, int) {
	switch m := img.(type) {
	case *image.YCbCr:
		c := m.YCbCrAt(x, y)
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return int(r), int(g), int(b)
	case *image.RGBA:
		o := m.PixOffset(x, y)
		return int(m.Pix[o]), int(m.Pix[o+1]), int(m.Pix[o+2])
	case *image.NRGBA:
		o := m.PixOffset(x, y)
		return int(m.Pix[o]), int(m.Pix[o+1]), int(m.Pix[o+2])
	case *image.Gray:
		v := int(m.Pix[m.PixOffset(x, y)])
		return v, v, v
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return int(r >> 8), int(g >> 8), int(b >> 8)
}
