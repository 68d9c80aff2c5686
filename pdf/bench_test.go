package pdf

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWriteJPEG measures the JPEG pass-through path: 200 generated
// pages written to io.Discard. Throughput is reported against input bytes.
func BenchmarkWriteJPEG(b *testing.B) {
	dir := b.TempDir()
	var pages []Page
	var total int64
	for i := range 200 {
		p := filepath.Join(dir, fmt.Sprintf("%03d.jpg", i))
		writeJPEG(b, p, 200, 300, 90, uint64(i))
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		total += fi.Size()
		pages = append(pages, Page{Path: p})
	}
	b.SetBytes(total)
	b.ReportAllocs()
	var st Stats
	for b.Loop() {
		var err error
		st, err = Write(context.Background(), io.Discard, pages, Info{Title: "bench"}, Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Bytes-total)/float64(len(pages)), "overhead-B/page")
}

// BenchmarkWriteDecoded measures the decode + Flate path on pages that
// cannot be passed through (RGBA PNG with transparency).
func BenchmarkWriteDecoded(b *testing.B) {
	dir := b.TempDir()
	var pages []Page
	for i := range 10 {
		img := image.NewNRGBA(image.Rect(0, 0, 600, 900))
		for k := range img.Pix {
			img.Pix[k] = byte(k*7 + i + k/2400)
		}
		p := filepath.Join(dir, fmt.Sprintf("%02d.png", i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			b.Fatal(err)
		}
		f.Close()
		pages = append(pages, Page{Path: p})
	}
	b.SetBytes(int64(len(pages)) * 600 * 900 * 4)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(context.Background(), io.Discard, pages, Info{}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBombRefusal measures refusing a PNG that claims 50000x50000
// pixels (7.5 GB decoded) from its header: the allocations per op are the
// memory figure TestDecompressionBomb does not assert. With no other page,
// Write reports ErrNoPages after skipping the bomb, so nothing else is
// measured.
func BenchmarkBombRefusal(b *testing.B) {
	bomb := filepath.Join(b.TempDir(), "bomb.png")
	writeBombPNG(b, bomb)
	pages := []Page{{Path: bomb}}
	b.ReportAllocs()
	for b.Loop() {
		st, err := Write(context.Background(), io.Discard, pages, Info{}, Options{})
		if !errors.Is(err, ErrNoPages) {
			b.Fatalf("Write: %v, want ErrNoPages", err)
		}
		if len(st.Skipped) != 1 || !bombReason.MatchString(st.Skipped[0].Reason) {
			b.Fatalf("stats %+v", st)
		}
	}
}
