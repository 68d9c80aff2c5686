// Command webpjpeg measures [pdf] lossy_webp on a set of pages: the PDF's
// size stored losslessly and as JPEG at several qualities, and how far the
// JPEG pixels are from the decoded WebP (mean absolute difference per
// channel, 0-255, and PSNR). Prints a Markdown table; bench/webp.sh runs it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"log"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/pdf"
	"golang.org/x/image/webp"
)

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func main() {
	qs := flag.String("q", "75,85,90,95", "JPEG qualities")
	flag.Parse()
	files := flag.Args()
	var pages []pdf.Page
	var in int64
	for _, f := range files {
		pages = append(pages, pdf.Page{Path: f})
		fi, err := os.Stat(f)
		if err != nil {
			log.Fatal(err)
		}
		in += fi.Size()
	}
	size := func(o pdf.Options) int64 {
		var c counter
		if _, err := pdf.Write(context.Background(), &c, pages, pdf.Info{}, o); err != nil {
			log.Fatal(err)
		}
		return c.n
	}
	fmt.Printf("%d pages, %d bytes\n\n", len(files), in)
	fmt.Println("| lossy_webp | PDF bytes | vs input | mean abs. diff of lossy WebP pages (0-255) | PSNR dB |")
	fmt.Println("|---|---:|---:|---:|---:|")
	lossless := size(pdf.Options{LossyWebP: pdf.WebPLossless})
	fmt.Printf("| lossless | %d | %.2f× | 0 | ∞ |\n", lossless, float64(lossless)/float64(in))
	for _, s := range strings.Split(*qs, ",") {
		q, err := strconv.Atoi(s)
		if err != nil {
			log.Fatal(err)
		}
		n := size(pdf.Options{LossyWebP: pdf.WebPJPEG, JPEGQuality: q})
		var sumAbs, sumSq, count float64
		for _, f := range files {
			if !strings.HasSuffix(f, ".webp") || strings.Contains(f, "lossless") {
				continue // only lossy WebP pages change
			}
			a, s2, c := diff(f, q)
			sumAbs, sumSq, count = sumAbs+a, sumSq+s2, count+c
		}
		psnr := 10 * math.Log10(255*255/(sumSq/count))
		fmt.Printf("| jpeg, quality %d | %d | %.2f× | %.2f | %.1f |\n", q, n, float64(n)/float64(in), sumAbs/count, psnr)
		n = size(pdf.Options{LossyWebP: pdf.WebPAuto, JPEGQuality: q})
		fmt.Printf("| auto, quality %d | %d | %.2f× | ≤ %.2f | ≥ %.1f |\n", q, n, float64(n)/float64(in), sumAbs/count, psnr)
	}
}

// diff re-encodes the page as the PDF writer does (onto white, grey pages
// one-channel) and returns the sums of absolute and squared differences
// and the number of samples.
func diff(path string, q int) (float64, float64, float64) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := webp.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	b := m.Bounds()
	ref := image.NewRGBA(b)
	draw.Draw(ref, b, image.White, image.Point{}, draw.Src)
	draw.Draw(ref, b, m, b.Min, draw.Over)
	var src image.Image = ref
	if gray(ref) {
		g := image.NewGray(b)
		draw.Draw(g, b, ref, b.Min, draw.Src)
		src = g
	}
	data, err := book.JPEG(src, q)
	if err != nil {
		log.Fatal(err)
	}
	dec, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	got := image.NewRGBA(b)
	draw.Draw(got, b, dec, b.Min, draw.Src)
	var abs, sq float64
	for i := range ref.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(int(got.Pix[i]) - int(ref.Pix[i]))
		abs += math.Abs(d)
		sq += d * d
	}
	return abs, sq, float64(len(ref.Pix) / 4 * 3)
}

func gray(m *image.RGBA) bool {
	for i := 0; i < len(m.Pix); i += 4 {
		if m.Pix[i] != m.Pix[i+1] || m.Pix[i] != m.Pix[i+2] {
			return false
		}
	}
	return true
}
