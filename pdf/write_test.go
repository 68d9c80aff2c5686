package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

type mixCase struct {
	file  string
	color string // pdfimages colour column
	enc   string // pdfimages enc column
	// maxDiff is the largest per-channel difference allowed between the
	// rendering and the Go-decoded source; meanDiff bounds the average.
	maxDiff  int
	meanDiff float64
	how      string // "jpeg": bytes copied; "idat": PNG data passed through
}

func TestMixedDocument(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "page.jpg")
	os.WriteFile(html, []byte("<!DOCTYPE html><html><body>Cloudflare</body></html>"), 0o644)
	avif := filepath.Join(dir, "page.avif")
	os.WriteFile(avif, []byte("\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miaf"), 0o644)
	full, _ := os.ReadFile(td("video-001.jpeg"))
	cut := filepath.Join(dir, "cut.jpeg")
	os.WriteFile(cut, full[:len(full)/2], 0o644) // an interrupted download

	// JPEG decoders differ in IDCT rounding; lossless pages must match.
	cases := []mixCase{
		{"video-001.jpeg", "rgb", "jpeg", 64, 3, "jpeg"},
		{"video-001.progressive.jpeg", "rgb", "jpeg", 64, 3, "jpeg"},
		{"video-005.gray.jpeg", "gray", "jpeg", 64, 3, "jpeg"},
		{"video-001.png", "rgb", "image", 0, 0, "idat"},
		{"video-005.gray.png", "gray", "image", 0, 0, "idat"},
		{"basn0g01.png", "gray", "image", 0, 0, "idat"},
		{"basn0g04.png", "gray", "image", 0, 0, "idat"},
		{"basn3p04.png", "index", "image", 0, 0, "idat"},
		{"basn3p08.png", "index", "image", 0, 0, "idat"},
		{"benchRGB-interlace.png", "rgb", "image", 0, 0, ""},
		{"gray-gradient.interlaced.png", "gray", "image", 0, 0, ""},
		{"basn3p04-31i.png", "rgb", "image", 0, 0, ""},
		{"basn3p08-trns.png", "rgb", "image", 1, 0, ""},
		{"ftbrn2c08.png", "rgb", "image", 1, 0, ""},
		{"basn4a08.png", "gray", "image", 1, 0, ""},
		{"basn4a16.png", "gray", "image", 1, 0, ""},
		{"basn6a08.png", "rgb", "image", 1, 0, ""},
		{"basn6a16.png", "rgb", "image", 1, 0, ""},
		{"basn2c16.png", "rgb", "image", 1, 0, "idat"},
		{"basn0g16.png", "gray", "image", 1, 0, "idat"},
		{"video-001.gif", "rgb", "image", 0, 0, ""},
		{"video-001.lossy.webp", "rgb", "image", 1, 0, ""}, // YCbCr->RGB rounding differs by 1
		{"blue-purple-pink.lossless.webp", "rgb", "image", 0, 0, ""},
		{"yellow_rose.lossy-with-alpha.webp", "rgb", "image", 1, 0, ""},
		{"video-001.bmp", "rgb", "image", 0, 0, ""},
		{"video-001.tiff", "rgb", "image", 0, 0, ""},
		{"video-001-16bit.tiff", "rgb", "image", 1, 0, ""},
		{"video-001-gray-16bit.tiff", "gray", "image", 1, 0, ""},
	}
	// 16-bit sources keep 16 bits per component: passed through (basn0g16,
	// basn2c16) or decoded and stored at 16 bits (alpha, TIFF).
	bpc16 := map[string]bool{
		"basn4a16.png": true, "basn6a16.png": true, "basn2c16.png": true, "basn0g16.png": true,
		"video-001-16bit.tiff": true, "video-001-gray-16bit.tiff": true,
	}
	var pages []Page
	want := map[int]string{} // input index -> reason prefix
	bad := func(p Page, reason string) {
		want[len(pages)] = reason
		pages = append(pages, p)
	}
	bad(Page{Err: errors.New("HTTP 404")}, "HTTP 404")
	for i, c := range cases {
		pages = append(pages, Page{Path: td(c.file)})
		switch i {
		case 2:
			bad(Page{Path: html}, "not an image")
		case 5:
			bad(Page{Path: cut}, "corrupt image")
		case 8:
			bad(Page{Path: td("invalid-crc32.png")}, "corrupt image")
		case 9:
			bad(Page{Path: td("invalid-trunc.png")}, "corrupt image")
		case 12:
			bad(Page{Path: avif}, "unsupported image format avif")
		case 14:
			bad(Page{Path: filepath.Join(dir, "absent.png")}, "cannot open image")
		}
	}

	out := filepath.Join(dir, "mix.pdf")
	paths, st, err := WriteFiles(context.Background(), out, pages, Info{Title: "mix"}, Options{DPI: 72})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != out {
		t.Fatalf("paths = %v", paths)
	}
	if st.Pages != len(cases) {
		t.Errorf("Stats.Pages = %d, want %d", st.Pages, len(cases))
	}
	if fi, _ := os.Stat(out); fi == nil || fi.Size() != st.Bytes {
		t.Errorf("Stats.Bytes = %d, file %v", st.Bytes, fi)
	}
	if len(st.Skipped) != len(want) {
		t.Errorf("skipped %v, want %v", st.Skipped, want)
	}
	for _, s := range st.Skipped {
		if w, ok := want[s.Index]; !ok || !strings.HasPrefix(s.Reason, w) {
			t.Errorf("skipped page %d: %q, want prefix %q", s.Index, s.Reason, w)
		}
	}
	qpdfCheck(t, out)
	sizes := pageSizes(t, out)

	// pdfimages -list: one image per page, with the expected colour space
	// and encoding.
	list, renders := imagesAndRenders(t, out, dir, len(cases))
	pdfBytes, _ := os.ReadFile(out)
	for i, c := range cases {
		f := strings.Fields(list[i])
		if f[0] != strconv.Itoa(i+1) || f[5] != c.color || f[8] != c.enc {
			t.Errorf("%s: pdfimages says %q", c.file, list[i])
		}
		if bpc := f[7]; (bpc == "16") != bpc16[c.file] {
			t.Errorf("%s: %s bits per component (pdfimages: %q)", c.file, bpc, list[i])
		}
		src, _ := os.ReadFile(td(c.file))
		switch c.how {
		case "jpeg":
			if !embeddedAsStream(pdfBytes, src) {
				t.Errorf("%s: JPEG not embedded byte for byte", c.file)
			}
		case "idat":
			if !embeddedAsStream(pdfBytes, idatData(t, td(c.file))) {
				t.Errorf("%s: PNG data not passed through", c.file)
			}
		}
		w, h, ref := refRGB(t, td(c.file))
		if sizes[i] != [2]float64{float64(w), float64(h)} {
			t.Errorf("%s: page size %v, want %dx%d at 72 dpi", c.file, sizes[i], w, h)
		}
		rw, rh, got := readRender(t, renders[i])
		if rw != w || rh != h {
			t.Errorf("%s: rendered %dx%d, want %dx%d", c.file, rw, rh, w, h)
			continue
		}
		maxd, sum := 0, 0
		for k := range got {
			d := int(got[k]) - int(ref[k])
			d = max(d, -d)
			maxd = max(maxd, d)
			sum += d
		}
		mean := float64(sum) / float64(len(got))
		if maxd > c.maxDiff || (c.meanDiff > 0 && mean > c.meanDiff) {
			t.Errorf("%s: max diff %d (allowed %d), mean %.2f", c.file, maxd, c.maxDiff, mean)
		}
	}
}

func TestNoUsablePages(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "a.jpg")
	os.WriteFile(html, []byte("<html></html>"), 0o644)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	pages := []Page{{Err: errors.New("gone")}, {Path: html}}
	for _, ph := range []bool{false, true} {
		paths, st, err := WriteFiles(context.Background(), filepath.Join(outDir, "x.pdf"), pages, Info{}, Options{Placeholders: ph})
		if !errors.Is(err, ErrNoPages) || paths != nil || len(st.Skipped) != 2 {
			t.Errorf("placeholders %v: %v %v %+v", ph, err, paths, st)
		}
		if left := dirEntries(t, outDir); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
		var buf bytes.Buffer
		if _, err := Write(context.Background(), &buf, pages, Info{}, Options{Placeholders: ph}); !errors.Is(err, ErrNoPages) || buf.Len() != 0 {
			t.Errorf("Write: %v, %d bytes", err, buf.Len())
		}
	}
}

// splitPages makes n distinct pages, telling them apart by width.
func splitPages(t *testing.T, dir string, n int) ([]Page, []float64) {
	var pages []Page
	var widths []float64
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("%02d.jpg", i))
		writeJPEG(t, p, 60+2*i, 320, 75, uint64(i))
		pages = append(pages, Page{Path: p})
		widths = append(widths, float64(60+2*i))
	}
	// A decoded page (alpha PNG) and a placeholder take part too.
	pages = append(pages, Page{Path: td("basn6a08.png")}, Page{Err: errors.New("lost")})
	widths = append(widths, 32, 32)
	return pages, widths
}

func TestSplitParts(t *testing.T) {
	dir := t.TempDir()
	pages, widths := splitPages(t, dir, 14)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	const limit = splitLimit
	paths, st, err := WriteFiles(context.Background(), filepath.Join(outDir, "ch 1.pdf"), pages, Info{Title: "split"},
		Options{DPI: 72, MaxFileBytes: limit, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("only %d parts: %v", len(paths), paths)
	}
	var got []float64
	var total int64
	for i, p := range paths {
		// The first part keeps the name asked for; the others go beside it.
		want := filepath.Join(outDir, "ch 1.pdf")
		if i > 0 {
			want = filepath.Join(outDir, fmt.Sprintf("ch 1-part%d.pdf", i+1))
		}
		if p != want {
			t.Errorf("part %d named %s, want %s", i+1, p, want)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > limit {
			t.Errorf("%s is %d bytes, over %d", p, fi.Size(), limit)
		}
		total += fi.Size()
		qpdfCheck(t, p)
		for _, s := range pageSizes(t, p) {
			got = append(got, s[0])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(widths) {
		t.Errorf("page widths in order %v, want %v", got, widths)
	}
	if st.Pages != len(widths) || st.Bytes != total {
		t.Errorf("stats %+v, total %d", st, total)
	}
	if left := dirEntries(t, outDir); len(left) != len(paths) {
		t.Errorf("directory holds %v", left)
	}

	// Generous limit: a single file keeps the plain name.
	one := filepath.Join(outDir, "one.pdf")
	paths, _, err = WriteFiles(context.Background(), one, pages, Info{}, Options{MaxFileBytes: 10 << 20})
	if err != nil || len(paths) != 1 || paths[0] != one {
		t.Errorf("single part: %v %v", paths, err)
	}
}

func TestSplitPageTooBig(t *testing.T) {
	dir := t.TempDir()
	pages, _ := splitPages(t, dir, 3)
	big := filepath.Join(dir, "big.jpg")
	writeJPEG(t, big, 400, 400, 95, 7) // noise: far over 64 KiB
	if fi, err := os.Stat(big); err != nil || fi.Size() <= splitLimit {
		t.Fatalf("test page too small: %v %v", fi, err)
	}
	pages = append([]Page{{Path: big}}, pages...)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	_, _, err := WriteFiles(context.Background(), filepath.Join(outDir, "x.pdf"), pages, Info{}, Options{MaxFileBytes: splitLimit})
	if err == nil || !strings.Contains(err.Error(), "page 1 (") {
		t.Errorf("err = %v, want one naming page 1", err)
	}
	if left := dirEntries(t, outDir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestMinFileBytes: a part size too small for any page is refused up
// front, with the setting's name, before any page is read or any file is
// made; the smallest accepted size works.
func TestMinFileBytes(t *testing.T) {
	dir := t.TempDir()
	pages, _ := splitPages(t, dir, 2)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	out := filepath.Join(outDir, "x.pdf")
	for _, n := range []int64{1, 100, 3000, MinFileBytes - 1} {
		paths, st, err := WriteFiles(context.Background(), out, pages, Info{}, Options{MaxFileBytes: n})
		if err == nil || !strings.Contains(err.Error(), "max_file_bytes must be at least 4 KiB") {
			t.Errorf("MaxFileBytes %d: err = %v", n, err)
		}
		if len(paths) != 0 || st.Pages != 0 || len(st.Skipped) != 0 {
			t.Errorf("MaxFileBytes %d: wrote %v, stats %+v", n, paths, st)
		}
	}
	if left := dirEntries(t, outDir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	paths, _, err := WriteFiles(context.Background(), out, pages, Info{}, Options{MaxFileBytes: splitLimit})
	if err != nil || len(paths) != 1 || paths[0] != out {
		t.Errorf("MaxFileBytes %d: %v %v", int64(splitLimit), paths, err)
	}
	// Write does not split, so the setting does not concern it.
	if _, err := Write(context.Background(), io.Discard, pages, Info{}, Options{MaxFileBytes: 100}); err != nil {
		t.Errorf("Write with MaxFileBytes 100: %v", err)
	}
}

// cancelAfter reports cancellation once Err has been asked n times; a
// deterministic stand-in for a user pressing stop mid-chapter.
type cancelAfter struct {
	context.Context
	n atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	pages, _ := splitPages(t, dir, 12)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	for _, limit := range []int64{0, splitLimit} {
		ctx := &cancelAfter{Context: context.Background()}
		ctx.n.Store(8)
		_, st, err := WriteFiles(ctx, filepath.Join(outDir, "x.pdf"), pages, Info{}, Options{MaxFileBytes: limit})
		if !errors.Is(err, context.Canceled) || st.Pages == 0 {
			t.Errorf("limit %d: err %v after %d pages", limit, err, st.Pages)
		}
		if left := dirEntries(t, outDir); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}

	// Write: cancel for real once output has started flowing.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{cancel: cancel, after: 50_000}
	st, err := Write(ctx, w, pages, Info{}, Options{})
	if !errors.Is(err, context.Canceled) || st.Pages == 0 || st.Pages >= len(pages) {
		t.Errorf("Write: err %v after %d pages", err, st.Pages)
	}
}

type cancelWriter struct {
	n      int
	after  int
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > w.after {
		w.cancel()
	}
	return len(p), nil
}

// splitLimit is the part size of the splitting tests, sized to their pages.
const splitLimit = 64 << 10
