package fit

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/pdf"
)

func TestShrinkAlreadyFits(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 3, 400, 600)
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"), Options{MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted != 0 || res.Quality != 0 || strings.Join(res.Paths, ",") != strings.Join(pages, ",") {
		t.Errorf("pages that fit were changed: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("out dir made for nothing: %v", err)
	}
}

// Photographic PNG pages become JPEG at quality 90 before anything else
// changes; clean line art stays PNG.
func TestShrinkPhotographicPNGFirst(t *testing.T) {
	dir := t.TempDir()
	pages := []string{
		writePNG(t, filepath.Join(dir, "1.png"), scanPage(600, 900, 1, false)),
		writePNG(t, filepath.Join(dir, "2.png"), flatArt(600, 900, 2)),
		writeJPEG(t, filepath.Join(dir, "3.jpg"), scanPage(600, 900, 3, false), 95),
		"", // a failed page stays failed
	}
	before := sumSizes(t, pages)
	budget := before * 8 / 10
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"), Options{MaxBytes: budget, Grayscale: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Quality != topQuality || res.Converted != 1 {
		t.Fatalf("want only the photographic PNG at quality %d, got %+v", topQuality, res)
	}
	if res.Paths[1] != pages[1] || res.Paths[2] != pages[2] || res.Paths[3] != "" {
		t.Errorf("line art, JPEG or failed page changed: %q", res.Paths)
	}
	if filepath.Ext(res.Paths[0]) != ".jpg" {
		t.Errorf("photographic PNG not converted: %s", res.Paths[0])
	}
	if got := sumSizes(t, res.Paths); got > budget || got != res.After {
		t.Errorf("after = %d (reported %d), budget %d", got, res.After, budget)
	}
	if _, ok := decodeFile(t, res.Paths[0]).(*image.Gray); !ok {
		t.Error("black-and-white page not stored grey")
	}
}

// JPEG pages over the budget get one quality for the job, the highest
// that fits; colour stays colour, grey pages go grey; the similarity is
// measured and above the floor.
func TestShrinkQualitySearch(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 6, 700, 1000)
	before := sumSizes(t, pages)
	budget := before * 45 / 100
	var calls int
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"),
		Options{MaxBytes: budget, Grayscale: true, MinSSIM: 0.85, Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: ssim %.3f (worst %.3f), %d pages, %d grey", res, res.SSIM, res.WorstSSIM, res.Converted, res.Gray)
	if got := sumSizes(t, res.Paths); got > budget || got != res.After || res.Before != before {
		t.Errorf("after %d (reported %d), before %d (reported %d), budget %d", got, res.After, before, res.Before, budget)
	}
	if res.Quality <= defaultMinQuality || res.Quality >= topQuality {
		t.Errorf("quality %d, want between the floor and the top", res.Quality)
	}
	if res.SSIM < 0.85 || res.SSIM >= 1 || res.WorstSSIM > res.SSIM {
		t.Errorf("ssim %.3f worst %.3f", res.SSIM, res.WorstSSIM)
	}
	if calls != len(pages) {
		t.Errorf("progress called %d times for %d pages", calls, len(pages))
	}
	for i, p := range res.Paths {
		img := decodeFile(t, p)
		_, gray := img.(*image.Gray)
		if want := i != 1; gray != want {
			t.Errorf("page %d: grey %v, want %v", i+1, gray, want)
		}
		if img.Bounds().Dx() != 700 {
			t.Errorf("page %d scaled to %d", i+1, img.Bounds().Dx())
		}
	}
	// A budget a little above what one quality step down gives would
	// have allowed a higher quality: the search takes the highest.
	res2, err := Shrink(context.Background(), pages, filepath.Join(dir, "out2"),
		Options{MaxBytes: budget * 13 / 10, Grayscale: true, MinSSIM: 0.85})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Quality <= res.Quality {
		t.Errorf("a bigger budget gave quality %d, the smaller %d", res2.Quality, res.Quality)
	}
}

// Quality alone cannot fit: pages are scaled to MaxWidth as well.
func TestShrinkScalesWhenQualityCannot(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 3, 1200, 1700)
	before := sumSizes(t, pages)
	budget := before * 12 / 100
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"),
		Options{MaxBytes: budget, MaxWidth: 600, MinSSIM: 0.5, MinQuality: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: ssim %.3f", res, res.SSIM)
	if res.Width != 600 || sumSizes(t, res.Paths) > budget {
		t.Errorf("got %+v, budget %d", res, budget)
	}
	if w := decodeFile(t, res.Paths[0]).Bounds().Dx(); w != 600 {
		t.Errorf("page width %d, want 600", w)
	}
}

func TestShrinkCannotFit(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 2, 600, 900)
	_, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"), Options{MaxBytes: 5000, MaxWidth: 500})
	var cf *CannotFitError
	if !errors.As(err, &cf) {
		t.Fatalf("err = %v, want CannotFitError", err)
	}
	if !strings.Contains(err.Error(), "cannot shrink to 4.9 KiB: even quality 50 at 500 px wide needs about") {
		t.Errorf("message: %v", err)
	}
	// The similarity floor stops it too, even when the bytes would fit.
	_, err = Shrink(context.Background(), pages, filepath.Join(dir, "out2"), Options{MaxBytes: sumSizes(t, pages) / 3, MinSSIM: 0.999})
	if !errors.As(err, &cf) || !strings.Contains(err.Error(), "differs too much") {
		t.Errorf("err = %v, want the similarity floor", err)
	}
}

func TestShrinkCancel(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 2, 400, 600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Shrink(ctx, pages, filepath.Join(dir, "out"), Options{MaxBytes: 1000}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
}

// BenchmarkShrink: 8 scanned pages (1200×1700, JPEG 95) to 40% of their
// size; bench/fit.sh measures whole chapters and peak RSS.
func BenchmarkShrink(b *testing.B) {
	dir := b.TempDir()
	pages := chapter(b, dir, 8, 1200, 1700)
	budget := sumSizes(b, pages) * 4 / 10
	b.ResetTimer()
	for i := range b.N {
		if _, err := Shrink(context.Background(), pages, filepath.Join(dir, fmt.Sprint("out", i)), Options{MaxBytes: budget, Grayscale: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// A page JPEG cannot hold (a side over 65,535 px) stays as it is instead
// of failing the job; the others are shrunk.
func TestShrinkKeepsPageJPEGCannotHold(t *testing.T) {
	dir := t.TempDir()
	wide := image.NewGray(image.Rect(0, 0, 70000, 4))
	for i := range wide.Pix {
		wide.Pix[i] = uint8(i % 7)
	}
	pages := append([]string{writePNG(t, filepath.Join(dir, "wide.png"), wide)}, chapter(t, dir, 3, 600, 900)...)
	budget := sumSizes(t, pages) / 2
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"), Options{MaxBytes: budget, MinSSIM: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Paths[0] != pages[0] || res.Converted != 3 || sumSizes(t, res.Paths) > budget {
		t.Errorf("got %+v, budget %d", res, budget)
	}
}

// Under a decode memory that holds about two pages at a time (the PDF
// writer's budget, shared), shrinking still finishes: the sample shrinks
// to what half the memory holds and pages wait their turn. With less
// memory than one page, nothing can be decoded and nothing changes.
func TestShrinkWithinSharedMemory(t *testing.T) {
	dir := t.TempDir()
	pages := chapter(t, dir, 4, 600, 900)
	budget := sumSizes(t, pages) / 2
	// One 600×900 page costs 5.4 MB (10 bytes a pixel).
	res, err := Shrink(context.Background(), pages, filepath.Join(dir, "out"),
		Options{MaxBytes: budget, MinSSIM: 0.8, Memory: pdf.NewBudget(11 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted != 4 || res.After > budget {
		t.Errorf("got %+v, budget %d", res, budget)
	}
	if _, err := Shrink(context.Background(), pages, filepath.Join(dir, "out2"),
		Options{MaxBytes: budget, Memory: pdf.NewBudget(1 << 20)}); err == nil {
		t.Error("shrank pages it had no memory to decode")
	}
}
