package book

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Placeholder draws the page that stands in for missing page number
// (1-based): light grey, saying which page is missing and why. It is as wide
// as the page before it (w, h; 0 when unknown) and A4-shaped. Returns a
// grey PNG and its size.
func Placeholder(number int, reason string, w, h int) ([]byte, int, int, error) {
	if w <= 0 || h <= 0 {
		w = 800
	}
	w = min(max(w, 400), 2000)
	h = w * 1414 / 1000
	// The text is set in a 7×13 bitmap font on a small canvas, then scaled
	// up without smoothing so that it stays legible at any page size.
	const cols = 48
	face := basicfont.Face7x13
	scale := max(w/(cols*7+28), 1)
	sw, sh := w/scale, h/scale
	small := image.NewGray(image.Rect(0, 0, sw, sh))
	for i := range small.Pix {
		small.Pix[i] = 0xee
	}
	lines := []string{fmt.Sprintf("Page %d is missing:", number)}
	lines = append(lines, wrapText(reason, (sw-28)/7)...)
	if len(lines) > 30 {
		lines = append(lines[:30], "...")
	}
	d := font.Drawer{Dst: small, Src: image.NewUniform(color.Gray{0x33}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(14, sh/8+i*16)
		d.DrawString(l)
	}
	big := image.NewGray(image.Rect(0, 0, w, h))
	xdraw.NearestNeighbor.Scale(big, big.Bounds(), small, small.Bounds(), xdraw.Src, nil)
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, big); err != nil {
		return nil, 0, 0, err
	}
	return b.Bytes(), w, h, nil
}

// wrapText breaks s into lines of at most n characters, at spaces when it
// can; characters the bitmap font lacks become '?'.
func wrapText(s string, n int) []string {
	n = max(n, 10)
	var lines []string
	for _, word := range strings.Fields(s) {
		word = strings.Map(func(r rune) rune {
			switch {
			case r == '—' || r == '–':
				return '-'
			case r == '‘' || r == '’':
				return '\''
			case r == '“' || r == '”':
				return '"'
			case r < 0x20 || r > 0x7e:
				return '?'
			}
			return r
		}, word)
		last := len(lines) - 1
		if last >= 0 && len(lines[last])+1+len(word) <= n {
			lines[last] += " " + word
			continue
		}
		for len(word) > 0 {
			k := min(n, len(word))
			lines = append(lines, word[:k])
			word = word[k:]
		}
	}
	return lines
}
