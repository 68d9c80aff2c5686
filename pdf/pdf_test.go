package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tool returns the path of an external checker. Locally a missing tool
// skips the test; in CI (which installs them) it is a failure.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed", name)
		}
		t.Fatalf("%s not installed (required in CI)", name)
	}
	return p
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func qpdfCheck(t testing.TB, path string) {
	t.Helper()
	out := run(t, "qpdf", "--check", path)
	if !strings.Contains(out, "No syntax or stream encoding errors") {
		t.Fatalf("qpdf --check %s:\n%s", path, out)
	}
}

var sizeRE = regexp.MustCompile(`(?m)^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts`)

// pageSizes lists every page's size as pdfinfo reports it.
func pageSizes(t testing.TB, path string) [][2]float64 {
	t.Helper()
	out := run(t, "pdfinfo", "-f", "1", "-l", "100000", path)
	var sizes [][2]float64
	for _, m := range sizeRE.FindAllStringSubmatch(out, -1) {
		w, _ := strconv.ParseFloat(m[1], 64)
		h, _ := strconv.ParseFloat(m[2], 64)
		sizes = append(sizes, [2]float64{w, h})
	}
	n := infoField(out, "Pages")
	if strconv.Itoa(len(sizes)) != n {
		t.Fatalf("pdfinfo says %s pages, listed %d sizes", n, len(sizes))
	}
	return sizes
}

func infoField(pdfinfo, key string) string {
	for _, l := range strings.Split(pdfinfo, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func td(name string) string { return filepath.Join("testdata", name) }

// refRGB decodes a source image with Go's decoders and composites it onto
// white in floating point, independently of the writer's integer code.
func refRGB(t *testing.T, path string) (int, int, []byte) {
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
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
			a := float64(c.A) / 65535
			for _, v := range []uint16{c.R, c.G, c.B} {
				f := (float64(v)/65535*a + (1 - a)) * 255
				out = append(out, byte(math.Round(f)))
			}
		}
	}
	return b.Dx(), b.Dy(), out
}

// readPPM reads a binary PPM as written by pdftoppm.
func readPPM(t *testing.T, path string) (int, int, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w, h, maxv int
	var magic string
	n, err := fmt.Sscan(string(data[:min(len(data), 64)]), &magic, &w, &h, &maxv)
	if err != nil || n != 4 || magic != "P6" || maxv != 255 {
		t.Fatalf("%s: not an 8-bit P6 file", path)
	}
	// The header ends after the single whitespace following maxval.
	fields := 0
	i := 0
	for fields < 4 {
		for data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t' {
			i++
		}
		for data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t' {
			i++
		}
		fields++
	}
	pix := data[i+1:]
	if len(pix) != 3*w*h {
		t.Fatalf("%s: %d pixel bytes for %dx%d", path, len(pix), w, h)
	}
	return w, h, pix
}

// Poppler smooths images drawn at less than 4x their pixel size, so pages
// are rendered at 4 device pixels per image pixel and sampled inside each
// 4x4 block, which poppler fills with the exact source value.
const renderScale = 4

func readRender(t *testing.T, path string) (int, int, []byte) {
	t.Helper()
	w, h, pix := readPPM(t, path)
	w, h = w/renderScale, h/renderScale
	out := make([]byte, 0, 3*w*h)
	for y := range h {
		for x := range w {
			o := 3 * ((y*renderScale+renderScale/2)*w*renderScale + x*renderScale + renderScale/2)
			out = append(out, pix[o:o+3]...)
		}
	}
	return w, h, out
}

// idatData concatenates a PNG's IDAT payloads.
func idatData(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if string(data[p+4:p+8]) == "IDAT" {
			out = append(out, data[p+8:p+8+n]...)
		}
		p += 12 + n
	}
	return out
}

// embeddedAsStream reports whether data appears in the PDF exactly as a
// whole stream body.
func embeddedAsStream(pdf, data []byte) bool {
	return bytes.Contains(pdf, append(append([]byte("stream\n"), data...), []byte("\nendstream")...))
}

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
	// Lossless WebP storage here: every decoded page must match exactly
	// (webp_test.go covers the JPEG re-encoding).
	paths, st, err := WriteFiles(context.Background(), out, pages, Info{Title: "mix"}, Options{DPI: 72, LossyWebP: WebPLossless})
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
	list := strings.Split(strings.TrimSpace(run(t, "pdfimages", "-list", out)), "\n")[2:]
	if len(list) != len(cases) {
		t.Fatalf("pdfimages lists %d images, want %d", len(list), len(cases))
	}
	pdfBytes, _ := os.ReadFile(out)
	run(t, "pdftoppm", "-r", strconv.Itoa(72*renderScale), out, filepath.Join(dir, "r"))
	renders, _ := filepath.Glob(filepath.Join(dir, "r-*.ppm"))
	sort.Strings(renders)
	if len(renders) != len(cases) {
		t.Fatalf("%d renders", len(renders))
	}
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

// The CMYK test image has an Adobe APP14 marker: it is stored inverted and
// needs a Decode array, else it renders as a negative.
func TestCMYKJPEG(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cmyk.pdf")
	src := td("video-001.cmyk.jpeg")
	if _, _, err := WriteFiles(context.Background(), out, []Page{{Path: src}}, Info{}, Options{DPI: 72}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	data, _ := os.ReadFile(out)
	jpg, _ := os.ReadFile(src)
	if !embeddedAsStream(data, jpg) {
		t.Error("CMYK JPEG not embedded byte for byte")
	}
	if !bytes.Contains(data, []byte("/ColorSpace /DeviceCMYK")) || !bytes.Contains(data, []byte("/Decode [1 0 1 0 1 0 1 0]")) {
		t.Error("CMYK image lacks DeviceCMYK with an inverting Decode array")
	}
	run(t, "pdftoppm", "-r", strconv.Itoa(72*renderScale), out, filepath.Join(dir, "r"))
	_, _, got := readRender(t, filepath.Join(dir, "r-1.ppm"))
	_, _, ref := refRGB(t, src)
	// CMYK to RGB conversion differs between renderers; a negative would be
	// off by ~100 on average.
	sum := 0
	for k := range got {
		d := int(got[k]) - int(ref[k])
		sum += max(d, -d)
	}
	if mean := float64(sum) / float64(len(got)); mean > 25 {
		t.Errorf("mean difference %.1f from the decoded source", mean)
	}
}

func writeJPEG(t testing.TB, path string, w, h, quality int, seed uint64) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPageSizeDefaultsAndTallStrip(t *testing.T) {
	dir := t.TempDir()
	strip := filepath.Join(dir, "strip.png")
	img := image.NewGray(image.Rect(0, 0, 800, 30000))
	for y := 0; y < 30000; y++ {
		for x := 0; x < 800; x++ {
			img.Pix[y*800+x] = byte(x ^ y)
		}
	}
	f, _ := os.Create(strip)
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out.pdf")
	// Default options: 96 dpi, 14400-unit side limit.
	pages := []Page{{Path: td("video-001.jpeg")}, {Path: strip}}
	if _, _, err := WriteFiles(context.Background(), out, pages, Info{}, Options{}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	sizes := pageSizes(t, out)
	want := [][2]float64{{112.5, 77.25}, {384, 14400}} // 150x103 px at 96 dpi; 600x22500 scaled to fit
	if fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("page sizes %v, want %v", sizes, want)
	}
}

func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// writeBombPNG writes a PNG whose header claims 50000x50000 RGB pixels
// (7.5 GB decoded), followed by an IDAT chunk that declares nearly 2 GiB of
// data but is cut off after a few bytes of garbage. A writer that refuses
// on the header's dimensions never notices the IDAT; one that reads any
// further fails on it with a different reason ("corrupt image: png:
// truncated" or a decoder's error), not "image too large".
func writeBombPNG(tb testing.TB, path string) {
	tb.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, 50000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 50000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	data := []byte("\x89PNG\r\n\x1a\n")
	data = append(data, pngChunk("IHDR", ihdr)...)
	data = binary.BigEndian.AppendUint32(data, 0x7fff0000)
	data = append(data, "IDAT"...)
	data = append(data, "\xde\xad\xbe\xef garbage, then the file ends"...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// bombReason is the reason a bomb is refused with: its dimensions, read
// from the header.
var bombReason = regexp.MustCompile(`^image too large: 50000x50000 pixels exceeds the limit of \d+$`)

// TestDecompressionBomb: a PNG claiming 2.5 gigapixels is skipped for its
// dimensions, before its image data is read; the other page is written.
// (The memory this takes is measured by BenchmarkBombRefusal.)
func TestDecompressionBomb(t *testing.T) {
	bomb := filepath.Join(t.TempDir(), "bomb.png")
	writeBombPNG(t, bomb)
	pages := []Page{{Path: bomb}, {Path: td("video-001.jpeg")}}
	st, err := Write(context.Background(), io.Discard, pages, Info{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Pages != 1 || len(st.Skipped) != 1 || st.Skipped[0].Index != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := st.Skipped[0].Reason; !bombReason.MatchString(got) {
		t.Errorf("bomb skipped with reason %q, want it refused on its dimensions (%s)", got, bombReason)
	}
}

// TestInflateBomb: a PNG of small dimensions whose IDAT inflates to far
// more than the image holds (64 MiB of zeros from a few KB) is skipped as
// corrupt once the expected size is exceeded, not inflated to the end.
func TestInflateBomb(t *testing.T) {
	dir := t.TempDir()
	const w, h = 16, 16 // 8-bit grey: 16 rows of 1+16 bytes
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	// Spoil the Adler-32 at the very end: an inflate that runs to the end
	// of the stream fails on it ("invalid checksum"); one that stops after
	// the image's size never gets there.
	bombZ := z.Bytes()
	bombZ[len(bombZ)-1] ^= 0xff
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	data := []byte("\x89PNG\r\n\x1a\n")
	data = append(data, pngChunk("IHDR", ihdr)...)
	data = append(data, pngChunk("IDAT", bombZ)...)
	data = append(data, pngChunk("IEND", nil)...)
	bomb := filepath.Join(dir, "bomb.png")
	os.WriteFile(bomb, data, 0o644)

	// The same dimensions with the right amount of data pass through.
	var z2 bytes.Buffer
	zw = zlib.NewWriter(&z2)
	zw.Write(make([]byte, h*(1+w)))
	zw.Close()
	ok := []byte("\x89PNG\r\n\x1a\n")
	ok = append(ok, pngChunk("IHDR", ihdr)...)
	ok = append(ok, pngChunk("IDAT", z2.Bytes())...)
	ok = append(ok, pngChunk("IEND", nil)...)
	good := filepath.Join(dir, "good.png")
	os.WriteFile(good, ok, 0o644)

	st, err := Write(context.Background(), io.Discard, []Page{{Path: bomb}, {Path: good}}, Info{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "corrupt image: png: more pixel data than the 272 bytes a 16x16 image holds"
	if st.Pages != 1 || len(st.Skipped) != 1 || st.Skipped[0].Index != 0 || st.Skipped[0].Reason != want {
		t.Errorf("stats %+v, want page 0 skipped: %q", st, want)
	}
}

func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "p3.jpg")
	os.WriteFile(html, []byte("<html>rate limited</html>"), 0o644)
	reason := `HTTP 404 (Not Found) \ 日本 é`
	pages := []Page{
		{Err: errors.New("timeout")},
		{Path: td("video-001.jpeg")},
		{Err: errors.New(reason)},
		{Path: html},
		{Path: td("video-005.gray.png")},
	}
	for _, on := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("ph-%v.pdf", on))
		_, st, err := WriteFiles(context.Background(), out, pages, Info{}, Options{DPI: 72, Placeholders: on})
		if err != nil {
			t.Fatal(err)
		}
		qpdfCheck(t, out)
		wantSkipped := []Skipped{{Index: 0, Reason: "timeout"}, {Index: 2, Reason: reason}, {Index: 3, Reason: "not an image"}}
		if fmt.Sprint(st.Skipped) != fmt.Sprint(wantSkipped) {
			t.Errorf("skipped %v", st.Skipped)
		}
		sizes := pageSizes(t, out)
		if !on {
			if st.Pages != 2 || len(sizes) != 2 || sizes[0] != [2]float64{150, 103} {
				t.Errorf("without placeholders: %d pages, sizes %v", st.Pages, sizes)
			}
			continue
		}
		if st.Pages != 5 || len(sizes) != 5 {
			t.Fatalf("with placeholders: %d pages, sizes %v", st.Pages, sizes)
		}
		// Placeholders take the width of the neighbouring image pages.
		for _, i := range []int{0, 2, 3} {
			if sizes[i][0] != 150 {
				t.Errorf("placeholder %d size %v", i+1, sizes[i])
			}
		}
		text := func(n int) string {
			return run(t, "pdftotext", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-raw", out, "-")
		}
		all := strings.Join(strings.Fields(text(3)), " ")
		if want := `Page 3 is missing: HTTP 404 (Not Found) \ ?? é`; !strings.Contains(all, want) {
			t.Errorf("page 3 text %q, want %q", all, want)
		}
		if got := strings.Join(strings.Fields(text(1)), " "); got != "Page 1 is missing: timeout" {
			t.Errorf("page 1 text %q", got)
		}
		if got := strings.Join(strings.Fields(text(4)), " "); got != "Page 4 is missing: not an image" {
			t.Errorf("page 4 text %q", got)
		}
	}
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
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

func TestInfo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "info.pdf")
	info := Info{
		Title:        "進撃の巨人 — 第1話",
		Author:       `Group (scans) \ site`,
		Subject:      "https://example.com/manga/1",
		Keywords:     "manga, 漫画",
		Creator:      "mangabot",
		Producer:     "mangabot test",
		CreationDate: time.Date(2024, 3, 5, 10, 20, 30, 0, time.FixedZone("JST", 9*3600)),
	}
	if _, _, err := WriteFiles(context.Background(), out, []Page{{Path: td("video-001.jpeg")}}, info, Options{}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	o := run(t, "pdfinfo", "-isodates", out)
	for k, v := range map[string]string{
		"Title": info.Title, "Author": info.Author, "Subject": info.Subject, "Keywords": info.Keywords,
		"Creator": info.Creator, "Producer": info.Producer, "CreationDate": "2024-03-05T10:20:30+09",
	} {
		if got := infoField(o, k); !strings.HasPrefix(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// Some sites append data after the JPEG end marker; such a file is still
// complete and is embedded whole.
func TestJPEGTrailingData(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile(td("video-001.jpeg"))
	withJunk := append(append([]byte{}, src...), bytes.Repeat([]byte("junk"), 3000)...)
	in := filepath.Join(dir, "junk.jpg")
	os.WriteFile(in, withJunk, 0o644)
	out := filepath.Join(dir, "out.pdf")
	_, st, err := WriteFiles(context.Background(), out, []Page{{Path: in}}, Info{}, Options{})
	if err != nil || st.Pages != 1 {
		t.Fatalf("%v, %+v", err, st)
	}
	qpdfCheck(t, out)
	data, _ := os.ReadFile(out)
	if !embeddedAsStream(data, withJunk) {
		t.Error("file not embedded byte for byte")
	}
}

// splitLimit is the part size of the splitting tests, sized to their pages.
const splitLimit = 64 << 10
