package fit

import (
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/mangabot/mangabot/internal/pagegen"
)

func scanPage(w, h int, seed uint64, colour bool) *image.RGBA {
	return pagegen.Scan(w, h, seed, colour)
}

func flatArt(w, h int, seed uint64) *image.Paletted { return pagegen.FlatArt(w, h, seed) }

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

// decodeFile reads an output page the way Shrink reads its input.
func decodeFile(t testing.TB, path string) image.Image {
	t.Helper()
	src, err := inspect(path)
	if err == nil {
		var img image.Image
		if img, err = decode(src); err == nil {
			return img
		}
	}
	t.Fatalf("%s: %v", path, err)
	return nil
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
