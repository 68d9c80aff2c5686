// Command pdfgen writes noisy JPEG pages for bench/pdf.sh (noise keeps the
// files big, ~1.5 MB, like high-quality scans), with -png16 huge 16-bit
// RGBA PNG pages for bench/bigpng.sh, or with -scan scanned manga pages
// (internal/pagegen: panels, screentone, grain; page 2 in colour) for
// bench/fit.sh.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/mangabot/mangabot/internal/pagegen"
)

func main() {
	dir := flag.String("dir", "/tmp/pdfbench/pages", "output directory")
	n := flag.Int("n", 200, "pages")
	w := flag.Int("w", 1200, "width")
	h := flag.Int("h", 1800, "height")
	q := flag.Int("q", 92, "JPEG quality")
	noise := flag.Int("noise", 96, "noise amplitude")
	png16 := flag.Bool("png16", false, "write 16-bit RGBA PNG pages (NNN.png) instead of JPEG")
	scan := flag.Bool("scan", false, "scanned manga pages instead of noise")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				var err error
				path := filepath.Join(*dir, fmt.Sprintf("%03d.jpg", i))
				switch {
				case *png16:
					err = png16Page(filepath.Join(*dir, fmt.Sprintf("%03d.png", i)), *w, *h, i)
				case *scan:
					err = write(path, pagegen.Scan(*w, *h, uint64(i), i == 1), *q)
				default:
					err = write(path, noisy(*w, *h, *noise, uint64(i)), *q)
				}
				if err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	for i := range *n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func noisy(w, h, noise int, seed uint64) image.Image {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := img.PixOffset(x, y)
			base := (x*3 + y*2 + int(seed)*31) % 256
			for c := range 3 {
				v := base + r.IntN(noise) - noise/2 + c*20
				img.Pix[o+c] = byte(min(max(v, 0), 255))
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

func write(path string, img image.Image, q int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: q}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
