package pdf

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
