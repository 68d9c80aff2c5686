package fit

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
)

// StripOptions configure Strip. Zero values mean the defaults.
type StripOptions struct {
	// PageRatio is the page height aimed at, as a multiple of the width;
	// default 1.6 (a phone held upright shows about that much).
	PageRatio float64
	// MaxHeight caps a page's height in pixels; default and ceiling
	// 65,535 (JPEG's limit). The PDF caller passes what its page side
	// limit allows at its DPI, so no page gets scaled down.
	MaxHeight int
	// Quality of the cut pages (JPEG); default 90.
	Quality int
	// MinGap is the number of blank rows that make a gap; default 8.
	MinGap int
	// Tolerance is how far a pixel of a blank row may stray from the
	// row's mean (per channel, 0-255); default 12 (JPEG noise).
	Tolerance int
}

// maxJPEGSide is JPEG's limit on either side.
const maxJPEGSide = 65535

func (o StripOptions) withDefaults() StripOptions {
	orDefault(&o.PageRatio, 1.6)
	if o.MaxHeight <= 0 || o.MaxHeight > maxJPEGSide {
		o.MaxHeight = maxJPEGSide
	}
	orDefault(&o.Quality, topQuality)
	orDefault(&o.MinGap, 8)
	orDefault(&o.Tolerance, 12)
	return o
}

// StripResult describes the pages cut from a strip.
type StripResult struct {
	Paths         []string // the pages, top to bottom
	Cuts          []int    // strip row where each page after the first starts
	Width, Height int      // of the whole strip
	AtGaps        int      // cuts made in a blank gap (the others crossed a panel: no gap was near)
}

// Strip stitches slices (image files, top to bottom) into one strip and
// cuts it into pages about PageRatio times as tall as wide, each cut in
// the middle of a blank gap (a run of rows of near-uniform colour): the
// gap nearest the aimed height between half and twice that height. Only
// when no gap is that near does a cut cross a panel, at its calmest row
// near the aimed height. Slices of another width are scaled to the
// first's. Memory holds one slice and a band of at most twice a page's
// rows, however long the strip.
func Strip(ctx context.Context, slices []string, dir string, o StripOptions) (*StripResult, error) {
	o = o.withDefaults()
	if len(slices) == 0 {
		return nil, fmt.Errorf("stitch strip: no slices")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stitch strip: %w", err)
	}
	c := &cutter{o: o, dir: dir, res: &StripResult{}}
	for i, p := range slices {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := inspect(p)
		if err != nil {
			return nil, fmt.Errorf("stitch strip: slice %d: %w", i+1, err)
		}
		img, err := decode(src)
		if err != nil {
			return nil, fmt.Errorf("stitch strip: slice %d: %w", i+1, err)
		}
		img = flatten(img)
		if c.band == nil {
			c.start(src.w)
		}
		if src.w != c.w {
			img = resizeWidth(img, c.w)
		}
		if err := c.add(img); err != nil {
			return nil, err
		}
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return c.res, nil
}

// cutter keeps the band: the rows not yet written, with a blank flag and
// a busyness figure per row.
type cutter struct {
	o      StripOptions
	dir    string
	res    *StripResult
	w      int
	target int // page height aimed at
	lo, hi int // cuts fall in band rows [lo, hi]
	band   *image.RGBA
	n      int       // rows in the band
	top    int       // strip row of band row 0
	blank  []bool    // per band row
	busy   []float64 // per band row: mean deviation from the row's mean
}

func (c *cutter) start(w int) {
	c.w = w
	c.target = min(int(float64(w)*c.o.PageRatio+0.5), c.o.MaxHeight)
	c.lo = max(1, c.target/2)
	c.hi = min(2*c.target, c.o.MaxHeight)
	c.band = image.NewRGBA(image.Rect(0, 0, w, c.hi))
	c.blank = make([]bool, c.hi)
	c.busy = make([]float64, c.hi)
	c.res.Width = w
}

// add appends a slice's rows, cutting pages whenever the band is full.
func (c *cutter) add(img image.Image) error {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; {
		if c.n == c.hi {
			if err := c.cut(c.choose()); err != nil {
				return err
			}
		}
		rows := min(b.Max.Y-y, c.hi-c.n)
		dst := image.Rect(0, c.n, c.w, c.n+rows)
		draw.Draw(c.band, dst, img, image.Pt(b.Min.X, y), draw.Src)
		for r := c.n; r < c.n+rows; r++ {
			c.blank[r], c.busy[r] = c.measure(r)
		}
		c.n += rows
		y += rows
		c.res.Height += rows
	}
	return nil
}

// measure says whether band row r is blank and how busy it is.
func (c *cutter) measure(r int) (bool, float64) {
	row := c.band.Pix[r*c.band.Stride : r*c.band.Stride+4*c.w]
	var sum [3]int
	for x := 0; x < len(row); x += 4 {
		sum[0] += int(row[x])
		sum[1] += int(row[x+1])
		sum[2] += int(row[x+2])
	}
	var mean [3]int
	for i := range mean {
		mean[i] = sum[i] / c.w
	}
	var off, dev int
	for x := 0; x < len(row); x += 4 {
		d := 0
		for i := range 3 {
			d = max(d, abs(int(row[x+i])-mean[i]))
		}
		dev += d
		if d > c.o.Tolerance {
			off++
		}
	}
	// A speck of dust does not make a row busy: 0.5% of pixels may stray.
	return off*200 <= c.w, float64(dev) / float64(c.w)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// choose picks where the next page ends (a band row in [lo, hi]).
func (c *cutter) choose() int {
	best, bestDist := -1, 0
	for r := 0; r < c.n; {
		if !c.blank[r] {
			r++
			continue
		}
		end := r
		for end < c.n && c.blank[end] {
			end++
		}
		if end-r >= c.o.MinGap {
			mid := (r + end) / 2
			if mid >= c.lo && mid <= c.hi {
				if d := abs(mid - c.target); best < 0 || d < bestDist {
					best, bestDist = mid, d
				}
			}
		}
		r = end
	}
	if best >= 0 {
		c.res.AtGaps++
		return best
	}
	// No gap near: cross the panel where it is calmest, close to the aim.
	from, to := max(c.lo, c.target-c.target/4), min(c.n, c.target+c.target/4)
	best = min(c.target, c.n-1)
	for r := from; r < to; r++ {
		if c.busy[r] < c.busy[best] {
			best = r
		}
	}
	return best
}

// cut writes band rows [0, at) as a page and moves the rest up.
func (c *cutter) cut(at int) error {
	if at <= 0 {
		return nil
	}
	page := c.band.SubImage(image.Rect(0, 0, c.w, at))
	var img image.Image = page
	if isGrayPage(page) {
		img = toGray(page)
	}
	data, err := encodeJPEG(img, c.o.Quality)
	if err != nil {
		return fmt.Errorf("stitch strip: encode page: %w", err)
	}
	name := filepath.Join(c.dir, fmt.Sprintf("strip-%04d.jpg", len(c.res.Paths)+1))
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("stitch strip: %w", err)
	}
	if len(c.res.Paths) > 0 {
		c.res.Cuts = append(c.res.Cuts, c.top)
	}
	c.res.Paths = append(c.res.Paths, name)
	rest := c.n - at
	copy(c.band.Pix, c.band.Pix[at*c.band.Stride:c.n*c.band.Stride])
	copy(c.blank, c.blank[at:c.n])
	copy(c.busy, c.busy[at:c.n])
	c.n = rest
	c.top += at
	return nil
}

// finish writes what is left: pages until the rest fits in one.
func (c *cutter) finish() error {
	for c.n > c.target*3/2 {
		if err := c.cut(c.choose()); err != nil {
			return err
		}
	}
	return c.cut(c.n)
}
