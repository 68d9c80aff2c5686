// Command pdfgen writes noisy JPEG pages for bench/pdf.sh (noise keeps the
// files big, ~1.5 MB, like high-quality scans), with -png16 huge 16-bit
// RGBA PNG pages for bench/bigpng.sh, or with -scan scanned manga pages
// (internal/pagegen: panels, screentone, grain; page 2 in colour) for
// bench/fit.sh, or with -manga grey PNG pages drawn like manga (panel
// borders, screentone, gradients, line work, balloons with lettering, scan
// grain) that bench/webp.sh encodes as lossy WebP as aggregator sites
// serve them.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"log"
	"math"
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
	manga := flag.Bool("manga", false, "grey manga-like PNG pages (NNN.png) instead of JPEG")
	grain := flag.Int("grain", 6, "-manga: scan grain amplitude")
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
				case *manga:
					err = mangaPage(filepath.Join(*dir, fmt.Sprintf("%03d.png", i)), *w, *h, *grain, uint64(i))
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

// mangaPage writes a manga-like grey page with scan grain as PNG.
func mangaPage(path string, w, h, noise int, seed uint64) error {
	img := drawManga(w, h, seed)
	grain(img, noise, seed)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func drawManga(w, h int, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 11))
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	fill := func(x0, y0, x1, y1 int, v func(x, y int) uint8) {
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				img.Pix[y*img.Stride+x] = v(x, y)
			}
		}
	}
	black := func(int, int) uint8 { return 0 }
	m := 40
	rows := 3 + r.IntN(2)
	y := m
	for range rows {
		ph := (h - 2*m - (rows-1)*20) / rows
		cols := 1 + r.IntN(3)
		x := m
		for range cols {
			pw := (w - 2*m - (cols-1)*20) / cols
			x0, y0, x1, y1 := x, y, x+pw, y+ph
			// Screentone: a dot grid over part of the panel.
			tx, ty := x0+r.IntN(pw/2), y0+r.IntN(ph/2)
			period := 6 + r.IntN(4)
			fill(tx, ty, tx+pw/2, ty+ph/2, func(x, y int) uint8 {
				dx, dy := x%period-period/2, y%period-period/2
				if dx*dx+dy*dy < period*period/6 {
					return 40
				}
				return 255
			})
			// A soft gradient (sky, shading).
			gy := y0 + r.IntN(ph/2)
			fill(x0, gy, x1, gy+ph/4, func(x, y int) uint8 { return uint8(150 + 100*(y-gy)/(ph/4+1)) })
			// Line work: random strokes and arcs.
			for range 30 + r.IntN(40) {
				cx, cy := x0+r.IntN(pw), y0+r.IntN(ph)
				a, l, th := r.Float64()*math.Pi*2, 20+r.Float64()*200, 1+r.IntN(3)
				for s := 0.0; s < l; s++ {
					px, py := cx+int(s*math.Cos(a)), cy+int(s*math.Sin(a)+10*math.Sin(s/20))
					if px > x0 && px < x1 && py > y0 && py < y1 {
						fill(px, py, px+th, py+th, black)
					}
				}
			}
			// A speech balloon with lettering.
			bx, by, rx, ry := x0+pw/3+r.IntN(pw/3), y0+ph/3, pw/6+20, ph/6+20
			fill(bx-rx-3, by-ry-3, bx+rx+3, by+ry+3, func(x, y int) uint8 {
				d := math.Pow(float64(x-bx)/float64(rx), 2) + math.Pow(float64(y-by)/float64(ry), 2)
				switch {
				case d <= 0.95:
					return 255
				case d <= 1.08:
					return 0
				}
				return img.Pix[y*img.Stride+x]
			})
			for ly := by - ry/2; ly < by+ry/2-14; ly += 22 {
				for lx := bx - rx/2; lx < bx+rx/2-10; lx += 11 {
					if r.IntN(6) > 0 {
						fill(lx, ly, lx+8, ly+14, func(x, y int) uint8 {
							if (x+y)%3 == 0 || x == lx || y == ly+13 {
								return 0
							}
							return 255
						})
					}
				}
			}
			// Border.
			for _, b := range [][4]int{{x0, y0, x1, y0 + 4}, {x0, y1 - 4, x1, y1}, {x0, y0, x0 + 4, y1}, {x1 - 4, y0, x1, y1}} {
				fill(b[0], b[1], b[2], b[3], black)
			}
			x += pw + 20
		}
		y += ph + 20
	}
	return img
}

// grain adds the faint noise of a scanned page.
func grain(img *image.Gray, amp int, seed uint64) {
	if amp <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(seed, 13))
	for i, v := range img.Pix {
		img.Pix[i] = uint8(min(max(int(v)+r.IntN(2*amp+1)-amp, 0), 255))
	}
}
