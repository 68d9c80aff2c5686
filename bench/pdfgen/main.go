// Command pdfgen writes noisy JPEG pages for bench/pdf.sh (noise keeps the
// files big, ~1.5 MB, like high-quality scans), or with -png16 huge 16-bit
// RGBA PNG pages for bench/bigpng.sh.
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
)

func main() {
	dir := flag.String("dir", "/tmp/pdfbench/pages", "output directory")
	n := flag.Int("n", 200, "pages")
	w := flag.Int("w", 1200, "width")
	h := flag.Int("h", 1800, "height")
	q := flag.Int("q", 92, "JPEG quality")
	noise := flag.Int("noise", 96, "noise amplitude")
	png16 := flag.Bool("png16", false, "write 16-bit RGBA PNG pages (NNN.png) instead of JPEG")
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
				if *png16 {
					err = png16Page(filepath.Join(*dir, fmt.Sprintf("%03d.png", i)), *w, *h, i)
				} else {
					err = page(filepath.Join(*dir, fmt.Sprintf("%03d.jpg", i)), *w, *h, *q, *noise, uint64(i))
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

func page(path string, w, h, q, noise int, seed uint64) error {
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
