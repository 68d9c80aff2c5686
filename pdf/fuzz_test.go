package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are every test image of testdata (real files of every format,
// some broken) and small PNGs of every decoded kind.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 256<<10 {
			f.Add(b)
		}
	}
	for _, s := range streamSpecs(9, 5) {
		f.Add(s.encode())
	}
}

// FuzzProbe: any bytes as a page: probing, decoding or streaming, and
// writing never panic, and a page either makes a document or is skipped
// with a reason (ErrNoPages) — never an error that fails the document.
// The budget is small, so big claims take the streaming or refusal paths.
func FuzzProbe(f *testing.F) {
	fuzzSeeds(f)
	budget := NewBudget(2 << 20)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "page")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := Write(context.Background(), io.Discard, []Page{{Path: path}}, Info{},
			Options{Budget: budget, MaxPixels: 1 << 22})
		switch {
		case errors.Is(err, ErrNoPages):
			if len(st.Skipped) != 1 || st.Skipped[0].Reason == "" {
				t.Fatalf("skipped without a reason: %+v", st)
			}
		case err != nil:
			t.Fatalf("page failed the document: %v", err)
		case st.Pages != 1:
			t.Fatalf("stats %+v", st)
		}
	})
}

// FuzzPNGStream: wherever both image/png and the streaming decoder accept a
// PNG, they agree on every pixel. The PNG is assembled from the fuzzed
// header fields, palette, tRNS and raw (uncompressed, filtered) rows with
// correct checksums, so that mutations reach the de-filtering and pixel
// conversion rather than dying on a CRC.
func FuzzPNGStream(f *testing.F) {
	for _, s := range streamSpecs(9, 5) {
		n := 0
		for _, p := range pngSpecHeader(s).passes() {
			n += int(pngSpecHeader(s).dataBytes(p))
		}
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(noise(i, n, 1))
			if i%7 == 0 {
				raw[i] %= 5 // plausible filter bytes now and then
			}
		}
		il := byte(0)
		if s.interlaced {
			il = 1
		}
		f.Add(uint8(s.w), uint8(s.h), uint8(s.depth), s.ctype, il, s.plte, s.trns, raw)
	}
	f.Fuzz(func(t *testing.T, w, h, depth, ctype, interlace uint8, plte, trns, raw []byte) {
		if w == 0 || h == 0 || w > 64 || h > 64 {
			return
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		data := pngFile(int(w), int(h), depth, ctype, interlace&1, plte, trns, z.Bytes())
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "page.png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		gray, got, err := streamed(t, path)
		if err != nil {
			t.Fatalf("image/png decodes it, the stream says %v", err)
		}
		checkAgainstDecoder(t, "fuzz", data, got, gray)
	})
}
