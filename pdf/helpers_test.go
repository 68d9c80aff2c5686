package pdf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
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

// decodeFile decodes an image file with Go's decoders.
func decodeFile(t *testing.T, path string) image.Image {
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

// refRGB decodes a source image with Go's decoders and composites it onto
// white in floating point, independently of the writer's integer code.
func refRGB(t *testing.T, path string) (int, int, []byte) {
	t.Helper()
	img := decodeFile(t, path)
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

var sizeRE = regexp.MustCompile(`(?m)^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts`)

// Poppler smooths images drawn at less than 4x their pixel size, so pages
// are rendered at 4 device pixels per image pixel and sampled inside each
// 4x4 block, which poppler fills with the exact source value.
const renderScale = 4

// bombReason is the reason a bomb is refused with: its dimensions, read
// from the header.
var bombReason = regexp.MustCompile(`^image too large: 50000x50000 pixels exceeds the limit of \d+$`)

// imagesAndRenders lists the images of the PDF at out (pdfimages -list,
// one line per image, headers dropped) and renders its pages into dir at
// renderScale (pdftoppm), in page order; it fails unless there are n of
// each.
func imagesAndRenders(t *testing.T, out, dir string, n int) (list, renders []string) {
	t.Helper()
	list = strings.Split(strings.TrimSpace(run(t, "pdfimages", "-list", out)), "\n")[2:]
	if len(list) != n {
		t.Fatalf("pdfimages lists %d images, want %d", len(list), n)
	}
	run(t, "pdftoppm", "-r", strconv.Itoa(72*renderScale), out, filepath.Join(dir, "r"))
	renders, _ = filepath.Glob(filepath.Join(dir, "r-*.ppm"))
	sort.Strings(renders)
	if len(renders) != n {
		t.Fatalf("%d pages rendered, want %d", len(renders), n)
	}
	return list, renders
}
