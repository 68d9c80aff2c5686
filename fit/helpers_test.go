package fit

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// scanPage draws a page like a scanned manga page: paper with grain,
// panels with black borders, screentone, shaded areas and speech-bubble
// blobs. colour adds tinted panels (a colour page).
func scanPage(w, h int, seed uint64, colour bool) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 99))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rows, cols := 3, 2
	m := w / 20
	for y := range h {
		for x := range w {
			v := 235 + r.IntN(14) - 7
			pw, ph := (w-2*m)/cols, (h-2*m)/rows
			px, py := (x-m)%pw, (y-m)%ph
			inside := x >= m && y >= m && x < w-m && y < h-m
			cr, cg, cb := v, v, v
			if inside {
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

// flatArt draws clean digital line art: few exact colours, long runs.
func flatArt(w, h int, seed uint64) *image.Paletted {
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

func clamp8(v int) uint8 { return uint8(min(max(v, 0), 255)) }

func writeJPEG(t testing.TB, path string, img image.Image, q int) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return path
}

func writePNG(t testing.TB, path string, img image.Image) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func sumSizes(t testing.TB, paths []string) int64 {
	var n int64
	for _, p := range paths {
		if p != "" {
			n += fileSize(t, p)
		}
	}
	return n
}

func decodeFile(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// chapter writes n scan pages as JPEG at quality 95 (page 2 in colour)
// and returns their paths.
func chapter(t testing.TB, dir string, n, w, h int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		img := scanPage(w, h, uint64(i), i == 1)
		paths = append(paths, writeJPEG(t, filepath.Join(dir, filepath.Base(dir)+string(rune('a'+i))+".jpg"), img, 95))
	}
	return paths
}
