package book

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// The placeholder is a PNG as wide as the page before it (within bounds),
// A4-shaped, and carries text: dark pixels on the light page.
func TestPlaceholder(t *testing.T) {
	for _, tc := range []struct{ w, h, wantW int }{
		{0, 0, 800}, {1200, 1800, 1200}, {100, 100, 400}, {9000, 30000, 2000},
	} {
		data, w, h, err := Placeholder(7, "HTTP 404 — not found ünïcode", tc.w, tc.h)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if w != tc.wantW || b.Dx() != w || b.Dy() != h || h != w*1414/1000 {
			t.Errorf("%dx%d: placeholder %dx%d (image %v), want width %d", tc.w, tc.h, w, h, b, tc.wantW)
		}
		g := img.(*image.Gray)
		dark := 0
		for _, v := range g.Pix {
			if v < 0x80 {
				dark++
			}
		}
		if dark == 0 || dark > len(g.Pix)/10 {
			t.Errorf("%dx%d: %d dark pixels of %d", tc.w, tc.h, dark, len(g.Pix))
		}
	}
}
