package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

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
