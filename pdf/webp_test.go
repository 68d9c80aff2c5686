package pdf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With LossyWebP jpeg, and with the default auto on these colourful frames
// (where JPEG is the smaller), lossy WebP pages (with alpha too) become JPEG
// close to the decoded original; lossless WebP stays lossless; and the
// document is smaller than with lossless storage.
func TestLossyWebPAsJPEG(t *testing.T) {
	dir := t.TempDir()
	files := []string{"video-001.lossy.webp", "yellow_rose.lossy-with-alpha.webp", "blue-purple-pink.lossless.webp"}
	var pages []Page
	for _, f := range files {
		pages = append(pages, Page{Path: td(f)})
	}
	sizes := map[string]int64{}
	for _, mode := range []string{"", WebPJPEG, WebPLossless} {
		out := filepath.Join(dir, "w"+mode+".pdf")
		if _, _, err := WriteFiles(context.Background(), out, pages, Info{}, Options{DPI: 72, LossyWebP: mode}); err != nil {
			t.Fatal(err)
		}
		qpdfCheck(t, out)
		fi, _ := os.Stat(out)
		sizes[mode] = fi.Size()
		if mode == WebPLossless {
			continue
		}
		sub := filepath.Join(dir, "r"+mode)
		os.Mkdir(sub, 0o755)
		list, renders := imagesAndRenders(t, out, sub, len(files))
		for i, want := range []string{"jpeg", "jpeg", "image"} {
			if f := strings.Fields(list[i]); f[8] != want {
				t.Errorf("%s: pdfimages says %q, want %s", files[i], list[i], want)
			}
		}
		for i, f := range files {
			w, h, ref := refRGB(t, td(f))
			rw, rh, got := readRender(t, renders[i])
			if rw != w || rh != h {
				t.Fatalf("%s: rendered %dx%d, want %dx%d", f, rw, rh, w, h)
			}
			sum := 0
			for k := range got {
				sum += max(int(got[k])-int(ref[k]), int(ref[k])-int(got[k]))
			}
			// Quality 90 on these colourful video frames: about 3 levels of
			// 255 on average (manga pages, mostly flat, come out closer).
			if mean := float64(sum) / float64(len(got)); mean > 3.5 {
				t.Errorf("%s: mean difference %.2f", f, mean)
			}
		}
	}
	if sizes[""] != sizes[WebPJPEG] || sizes[WebPJPEG] >= sizes[WebPLossless] {
		t.Errorf("auto %d bytes, JPEG %d, lossless %d", sizes[""], sizes[WebPJPEG], sizes[WebPLossless])
	}
}
