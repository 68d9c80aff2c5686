package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeInterlaced16 writes img as an Adam7-interlaced 16-bit PNG (colour
// type 2, or 0 when gray), which Go's encoder cannot produce.
func writeInterlaced16(t *testing.T, path string, img image.Image, gray bool) {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ctype, spp := byte(2), 3
	if gray {
		ctype, spp = 0, 1
	}
	passes := [7][4]int{ // x0, y0, dx, dy
		{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
	}
	var raw bytes.Buffer
	for _, p := range passes {
		for y := p[1]; y < h; y += p[3] {
			if p[0] >= w {
				break
			}
			raw.WriteByte(0) // filter None
			for x := p[0]; x < w; x += p[2] {
				c := color.RGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA64)
				s := []uint16{c.R, c.G, c.B}[:spp]
				for _, v := range s {
					raw.WriteByte(byte(v >> 8))
					raw.WriteByte(byte(v))
				}
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, ctype, 0, 0, 1)
	data := []byte("\x89PNG\r\n\x1a\n")
	data = append(data, pngChunk("IHDR", ihdr)...)
	data = append(data, pngChunk("IDAT", z.Bytes())...)
	data = append(data, pngChunk("IEND", nil)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Go's decoder must read it back as the same 16-bit image.
	f, _ := os.Open(path)
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatalf("interlaced test PNG: %v", err)
	}
	for y := range h {
		for x := range w {
			r1, g1, b1, _ := back.At(x, y).RGBA()
			r2, g2, b2, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("interlaced test PNG differs at %d,%d", x, y)
			}
		}
	}
}

// ref16 composites a source pixel onto white in floating point, 16 bits.
func ref16(c color.Color) [3]float64 {
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	a := float64(n.A) / 65535
	var out [3]float64
	for i, v := range []uint16{n.R, n.G, n.B} {
		out[i] = float64(v)*a + 65535*(1-a)
	}
	return out
}

// TestSixteenBit: 16-bit sources keep 16 bits per component. Opaque
// non-interlaced PNG passes its IDAT through; interlaced and alpha PNG are
// decoded and stored at 16 bits (alpha on white). The stored samples match
// the source to the last bit, or within rounding where alpha is composited;
// renderings match the Go-decoded source.
func TestSixteenBit(t *testing.T) {
	dir := t.TempDir()
	rgbI := filepath.Join(dir, "basi2c16.png")
	writeInterlaced16(t, rgbI, decodeFile(t, td("basn2c16.png")), false)
	grayI := filepath.Join(dir, "basi0g16.png")
	writeInterlaced16(t, grayI, decodeFile(t, td("basn0g16.png")), true)
	cases := []struct {
		path  string
		color string
		idat  bool    // IDAT passed through
		tol   float64 // allowed 16-bit difference in the extracted samples
	}{
		{td("basn2c16.png"), "rgb", true, 0},
		{td("basn0g16.png"), "gray", true, 0},
		{rgbI, "rgb", false, 0},
		{grayI, "gray", false, 0},
		{td("basn6a16.png"), "rgb", false, 1},
		{td("basn4a16.png"), "gray", false, 1},
		{td("video-001-16bit.tiff"), "rgb", false, 0},
	}
	var pages []Page
	for _, c := range cases {
		pages = append(pages, Page{Path: c.path})
	}
	out := filepath.Join(dir, "16.pdf")
	if _, _, err := WriteFiles(context.Background(), out, pages, Info{}, Options{DPI: 72}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	pdfBytes, _ := os.ReadFile(out)
	list, renders := imagesAndRenders(t, out, dir, len(cases))
	for i, c := range cases {
		name := filepath.Base(c.path)
		f := strings.Fields(list[i])
		if f[5] != c.color || f[7] != "16" {
			t.Errorf("%s: pdfimages says %q, want %s at 16 bpc", name, list[i], c.color)
		}
		if c.idat && !embeddedAsStream(pdfBytes, idatData(t, c.path)) {
			t.Errorf("%s: PNG data not passed through", name)
		}
		src := decodeFile(t, c.path)
		// The stored samples, with Flate and the PNG predictors undone by
		// qpdf, against the source composited on white at 16 bits.
		raw, err := exec.Command(tool(t, "qpdf"), "--show-object="+f[10], "--filtered-stream-data", out).Output()
		if err != nil {
			t.Fatalf("%s: qpdf: %v", name, err)
		}
		spp := 3
		if c.color == "gray" {
			spp = 1
		}
		b := src.Bounds()
		if len(raw) != 2*spp*b.Dx()*b.Dy() {
			t.Errorf("%s: %d bytes of samples, want %d (16-bit)", name, len(raw), 2*spp*b.Dx()*b.Dy())
		} else {
			worst := 0.0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					want := ref16(src.At(x, y))
					for k := range spp {
						v := binary.BigEndian.Uint16(raw[2*(spp*((y-b.Min.Y)*b.Dx()+x-b.Min.X)+k):])
						worst = max(worst, math.Abs(float64(v)-want[k]))
					}
				}
			}
			if worst > c.tol+0.5 {
				t.Errorf("%s: stored samples differ from the source by up to %.1f (of 65535)", name, worst)
			}
		}
		w, h, ref := refRGB(t, c.path)
		rw, rh, got := readRender(t, renders[i])
		if rw != w || rh != h {
			t.Errorf("%s: rendered %dx%d, want %dx%d", name, rw, rh, w, h)
			continue
		}
		maxd := 0
		for k := range got {
			d := int(got[k]) - int(ref[k])
			maxd = max(maxd, d, -d)
		}
		if maxd > 1 {
			t.Errorf("%s: rendering differs from the source by up to %d", name, maxd)
		}
	}
}
