// Package pagegen draws synthetic pages for tests and benchmarks: scanned
// manga pages (grain, screentone, panels), clean line art, and webtoon
// strips with blank gaps at known rows. Nothing third-party, nothing
// random between runs (seeded).
package pagegen

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// Scan draws a page like a scanned manga page: paper with grain, panels
// with black borders, screentone, shaded areas and speech bubbles. colour
// tints the shaded panels (a colour page).
func Scan(w, h int, seed uint64, colour bool) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 99))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	const rows, cols = 3, 2
	m := w / 20
	pw, ph := (w-2*m)/cols, (h-2*m)/rows
	for y := range h {
		for x := range w {
			v := 235 + r.IntN(14) - 7
			cr, cg, cb := v, v, v
			if x >= m && y >= m && x < w-m && y < h-m {
				px, py := (x-m)%pw, (y-m)%ph
				panel := (x-m)/pw + cols*((y-m)/ph)
				switch {
				case px < 5 || py < 5 || px > pw-12 || py > ph-12:
					if px < 5 || py < 5 || px > pw-17 || py > ph-17 {
						cr, cg, cb = 20, 20, 20 // border
					}
				case (panel+int(seed))%3 == 0 && (x/4+y/4)%2 == 0:
					cr, cg, cb = 60, 60, 60 // screentone
				case (panel+int(seed))%3 == 1:
					g := 80 + (px*150)/pw + r.IntN(20)
					cr, cg, cb = g, g, g // shading
					if colour {
						cr, cg, cb = g, 255-g, (g*py/ph)%256
					}
				default:
					dx, dy := px-pw/2, py-ph/2
					if dx*dx+dy*dy < (pw*pw)/16 {
						cr, cg, cb = 250, 250, 250 // speech bubble
					}
				}
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = clamp8(cr), clamp8(cg), clamp8(cb), 255
		}
	}
	return img
}

// FlatArt draws clean digital line art: four exact colours, long runs.
func FlatArt(w, h int, seed uint64) *image.Paletted {
	pal := color.Palette{color.White, color.Black, color.RGBA{200, 60, 60, 255}, color.RGBA{60, 60, 200, 255}}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	r := rand.New(rand.NewPCG(seed, 5))
	for range 40 {
		x0, y0 := r.IntN(w), r.IntN(h)
		x1, y1 := min(w, x0+20+r.IntN(w/3)), min(h, y0+20+r.IntN(h/3))
		c := uint8(1 + r.IntN(3))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if y < y0+3 || y >= y1-3 || x < x0+3 || x >= x1-3 || c != 1 {
					img.SetColorIndex(x, y, c)
				}
			}
		}
	}
	return img
}

// Gap is a run of blank strip rows [From, To).
type Gap struct{ From, To int }

// Webtoon is a vertical strip served in slices: busy coloured panels
// separated by white Gaps, with Decoys (blank runs too short to be gaps)
// and black panel borders 4 rows off each gap (uniform rows that are no
// gap).
type Webtoon struct {
	Width, Height, SliceHeight int
	Gaps, Decoys               []Gap
}

// Slices is the number of slices.
func (s Webtoon) Slices() int { return (s.Height + s.SliceHeight - 1) / s.SliceHeight }

// Slice draws slice i (0-based).
func (s Webtoon) Slice(i int) *image.RGBA {
	r := rand.New(rand.NewPCG(uint64(i), 2))
	h := min(s.SliceHeight, s.Height-i*s.SliceHeight)
	img := image.NewRGBA(image.Rect(0, 0, s.Width, h))
	for y := range h {
		sy := i*s.SliceHeight + y
		gap := in(sy, s.Gaps)
		blank := gap || in(sy, s.Decoys)
		border := !gap && (in(sy-4, s.Gaps) || in(sy+4, s.Gaps))
		for x := range s.Width {
			o := img.PixOffset(x, y)
			switch {
			case blank:
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = 255, 255, 255
			case border:
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = 10, 10, 10
			default:
				v := (x + sy) % 256
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = uint8(v), uint8(128+r.IntN(60)), uint8(255-v)
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

func in(y int, gs []Gap) bool {
	for _, g := range gs {
		if y >= g.From && y < g.To {
			return true
		}
	}
	return false
}

// JPEG encodes img at quality q.
func JPEG(img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err) // only a bad image size fails, a bug in the caller
	}
	return b.Bytes()
}

func clamp8(v int) uint8 { return uint8(min(max(v, 0), 255)) }
