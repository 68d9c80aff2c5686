package fit

import (
	"image"
	"math"
)

// renderWidth is the width pages are compared at: about what a phone
// shows of a page, so the figure tracks what a reader sees rather than
// noise no screen displays.
const renderWidth = 600

// luma is a grey render of a page for comparison.
type luma struct {
	w, h int
	pix  []float64
}

// render averages img's luma over boxes down to renderWidth (or keeps its
// size when narrower). Two pages of different sizes (a downscaled one)
// render to the same grid when their aspect ratios match.
func render(img image.Image) luma {
	b := img.Bounds()
	w := min(b.Dx(), renderWidth)
	h := max(1, int(math.Round(float64(b.Dy())*float64(w)/float64(b.Dx()))))
	return renderSize(img, w, h)
}

func renderSize(img image.Image, w, h int) luma {
	g := toGray(img)
	sw, sh := g.Rect.Dx(), g.Rect.Dy()
	// Each cell averages the source box it covers (at least one pixel,
	// so a smaller page is upsampled by nearest neighbour).
	span := func(i, n, src int) (int, int) {
		a := i * src / n
		return a, max(a+1, (i+1)*src/n)
	}
	xs := make([][2]int, w)
	for x := range xs {
		xs[x][0], xs[x][1] = span(x, w, sw)
	}
	out := luma{w: w, h: h, pix: make([]float64, w*h)}
	row := make([]float64, w)
	for y := 0; y < h; y++ {
		y0, y1 := span(y, h, sh)
		clear(row)
		for sy := y0; sy < y1; sy++ {
			line := g.Pix[sy*g.Stride : sy*g.Stride+sw]
			for x, r := range xs {
				var s int
				for _, v := range line[r[0]:r[1]] {
					s += int(v)
				}
				row[x] += float64(s)
			}
		}
		for x, r := range xs {
			out.pix[y*w+x] = row[x] / float64((r[1]-r[0])*(y1-y0))
		}
	}
	return out
}

// ssim is the mean structural similarity of two renders over 8×8 windows
// (stride 4), the usual constants for 8-bit values. 1 is identical; on a
// grainy scan JPEG quality 95 gives about 0.99, 60 about 0.91, 20 about
// 0.87 (TestSSIM).
func ssim(a, b luma) float64 {
	if a.w != b.w || a.h != b.h {
		// Rounding gave the scaled page one row more or less: compare
		// the shared area.
		w, h := min(a.w, b.w), min(a.h, b.h)
		a, b = crop(a, w, h), crop(b, w, h)
	}
	const win, stride = 8, 4
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	if a.w < win || a.h < win {
		return 1 - meanAbs(a, b)/255
	}
	var total float64
	var n int
	for y := 0; y+win <= a.h; y += stride {
		for x := 0; x+win <= a.w; x += stride {
			var sa, sb, saa, sbb, sab float64
			for j := 0; j < win; j++ {
				o := (y+j)*a.w + x
				for i := 0; i < win; i++ {
					p, q := a.pix[o+i], b.pix[o+i]
					sa += p
					sb += q
					saa += p * p
					sbb += q * q
					sab += p * q
				}
			}
			const k = win * win
			ma, mb := sa/k, sb/k
			va, vb := saa/k-ma*ma, sbb/k-mb*mb
			cov := sab/k - ma*mb
			total += (2*ma*mb + c1) * (2*cov + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	return total / float64(n)
}

func crop(l luma, w, h int) luma {
	out := luma{w: w, h: h, pix: make([]float64, 0, w*h)}
	for y := 0; y < h; y++ {
		out.pix = append(out.pix, l.pix[y*l.w:y*l.w+w]...)
	}
	return out
}

func meanAbs(a, b luma) float64 {
	var s float64
	for i := range a.pix {
		s += math.Abs(a.pix[i] - b.pix[i])
	}
	return s / float64(max(1, len(a.pix)))
}
