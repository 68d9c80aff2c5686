package fit

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"
)

func TestGrayDetection(t *testing.T) {
	dir := t.TempDir()
	bw := decodeFile(t, writeJPEG(t, filepath.Join(dir, "bw.jpg"), scanPage(600, 900, 1, false), 85))
	col := decodeFile(t, writeJPEG(t, filepath.Join(dir, "col.jpg"), scanPage(600, 900, 1, true), 85))
	if !isGrayPage(bw) {
		t.Error("a black-and-white scan (JPEG, colour model) is not detected as grey")
	}
	if isGrayPage(col) {
		t.Error("a colour page is detected as grey")
	}
	// A grey page with one small red stamp (0.3% of the page) stays colour.
	stamp := image.NewRGBA(bw.Bounds())
	for y := 0; y < 900; y++ {
		for x := 0; x < 600; x++ {
			stamp.Set(x, y, bw.At(x, y))
		}
	}
	for y := 100; y < 130; y++ {
		for x := 100; x < 150; x++ {
			stamp.Set(x, y, color.RGBA{220, 30, 30, 255})
		}
	}
	if isGrayPage(stamp) {
		t.Error("a grey page with a red stamp is detected as grey")
	}
}

func TestPhotographicDetection(t *testing.T) {
	if !isPhotographic(scanPage(600, 900, 2, false)) {
		t.Error("a noisy scan is not photographic")
	}
	if isPhotographic(flatArt(600, 900, 2)) {
		t.Error("flat line art is photographic")
	}
}

func TestSSIM(t *testing.T) {
	dir := t.TempDir()
	page := scanPage(800, 1200, 3, false)
	ref := render(page)
	if s := ssim(ref, ref); s < 0.9999 {
		t.Errorf("ssim of a page with itself = %v, want 1", s)
	}
	var last float64 = 1
	for _, q := range []int{95, 60, 20, 5} {
		img := decodeFile(t, writeJPEG(t, filepath.Join(dir, "p.jpg"), page, q))
		s := ssim(ref, renderSize(img, ref.w, ref.h))
		t.Logf("quality %d: ssim %.4f", q, s)
		if s >= last {
			t.Errorf("quality %d: ssim %.4f not below the higher quality's %.4f", q, s, last)
		}
		last = s
	}
	// A downscaled page compares on the same grid.
	small := scaleToWidth(page, 400)
	if s := ssim(ref, renderSize(small, ref.w, ref.h)); s < 0.8 || s >= 1 {
		t.Errorf("half-width page: ssim %.4f, want in [0.8, 1)", s)
	}
}

func TestFlattenTransparentOnWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4)) // all transparent
	r, g, b := rgb8(flatten(img), 1, 1)
	if r != 255 || g != 255 || b != 255 {
		t.Errorf("transparent pixel became %d,%d,%d, want white", r, g, b)
	}
}
