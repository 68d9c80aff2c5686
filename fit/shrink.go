package fit

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"

	"github.com/mangabot/mangabot/internal/humanize"
)

// Options configure Shrink. Zero values mean the defaults.
type Options struct {
	// MaxBytes is the budget for all page files together (the caller
	// leaves room for the document's own overhead).
	MaxBytes int64
	// MaxWidth is the last step: pages wider than this are scaled down
	// to it when quality alone cannot fit. 0: never scale.
	MaxWidth int
	// MinQuality is the lowest JPEG quality tried; default 50.
	MinQuality int
	// MinSSIM is the least mean similarity (SSIM of a phone-width grey
	// render) of the re-encoded pages to their originals; default 0.9.
	MinSSIM float64
	// Grayscale stores pages detected as black-and-white with one
	// channel. Pages with colour stay colour.
	Grayscale bool
	// Workers is the number of pages decoded at once; default 2.
	Workers int
	// Sample is the number of pages the quality search encodes; default 8.
	Sample int
	// Progress, when set, is told after each page of the final pass.
	Progress func(done, total int)
	// Memory, when set, is the decode memory the process shares (the
	// PDF writer's pdf.Budget): decoded pages are reserved in it first,
	// and a page bigger than all of it stays as it is.
	Memory Memory
}

// Memory is a shared bound on decoded pages.
type Memory interface {
	Size() int64
	// Take reserves n bytes, waiting for room; release gives them back.
	Take(ctx context.Context, n int64) (release func(), err error)
}

// decodeCost is what decoding and re-encoding one page holds at once:
// the decoded page (up to 4 bytes a pixel), its scaled or grey copy and
// the check decode of the result.
func decodeCost(s source) int64 { return int64(s.w) * int64(s.h) * 10 }

const (
	// topQuality is the first step's quality (lossless pages to JPEG):
	// hard to tell from the original at reading size.
	topQuality        = 90
	defaultMinQuality = 50
	defaultMinSSIM    = 0.9
	// samplePixels bounds the decoded sample kept in memory during the
	// search (about eight 1200×1800 pages).
	samplePixels = 20e6
	// finalPasses is how often the whole chapter may be encoded when the
	// sample's estimate proves too optimistic.
	finalPasses = 3
)

func (o Options) withDefaults() Options {
	orDefault(&o.MinQuality, defaultMinQuality)
	o.MinQuality = min(o.MinQuality, topQuality)
	orDefault(&o.MinSSIM, defaultMinSSIM)
	orDefault(&o.Workers, 2)
	orDefault(&o.Sample, 8)
	return o
}

// orDefault sets an option left at zero (or below) to its default.
func orDefault[T int | float64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Result says what Shrink did.
type Result struct {
	// Paths has one entry per input page: the re-encoded file, or the
	// input path when the page was kept (or was "", a failed page).
	Paths         []string
	Before, After int64 // bytes of all pages
	Quality       int   // JPEG quality of re-encoded pages; 0: none was
	Width         int   // pages were scaled to at most this width; 0: none
	Converted     int   // pages re-encoded
	Gray          int   // of them, stored black-and-white
	// SSIM is the mean similarity of the re-encoded pages to their
	// originals (1 when none changed); WorstSSIM the lowest page.
	SSIM, WorstSSIM float64
}

// String is the one line for people: "fitted 23.4 MiB → 9.6 MiB, quality 82".
func (r *Result) String() string {
	s := fmt.Sprintf("fitted %s → %s", humanize.Bytes(r.Before), humanize.Bytes(r.After))
	if r.Quality > 0 {
		s += fmt.Sprintf(", quality %d", r.Quality)
	}
	if r.Width > 0 {
		s += fmt.Sprintf(", %d px wide", r.Width)
	}
	return s
}

// CannotFitError is returned when even the floor settings (lowest quality,
// narrowest width, least similarity) cannot bring the pages under the
// budget.
type CannotFitError struct {
	Budget, Need int64 // Need: the estimate at the floor
	Quality      int
	Width        int
	Reason       string // what stopped the search
}

func (e *CannotFitError) Error() string {
	s := fmt.Sprintf("cannot shrink to %s", humanize.Bytes(e.Budget))
	if e.Need > 0 {
		s += fmt.Sprintf(": %s", e.Reason)
	}
	return s
}

// setting is one point of the search.
type setting struct {
	quality int
	width   int  // 0: full size
	photo   bool // first step: only photographic lossless pages change
}

// Shrink re-encodes the pages (image files; "" marks a failed page, kept
// as is) into dir so that together they take at most o.MaxBytes, changing
// as little as it can, in this order: photographic PNG/WebP pages become
// JPEG at quality 90; then every page is JPEG at the highest quality
// (found by binary search on a sample of pages) that fits; then pages
// are also scaled to o.MaxWidth. A page whose re-encoding is not smaller
// stays as it was. Pages that already fit come back unchanged.
//
// The caller removes dir. On *CannotFitError nothing in dir is worth
// keeping.
func Shrink(ctx context.Context, pages []string, dir string, o Options) (*Result, error) {
	o = o.withDefaults()
	s := &shrinker{o: o, dir: dir, pages: pages, srcs: make([]source, len(pages))}
	res := &Result{Paths: append([]string(nil), pages...), SSIM: 1, WorstSSIM: 1}
	foreign := false // formats the PDF writer cannot copy: their cost is unknown
	for i, p := range pages {
		if p == "" {
			continue
		}
		src, err := inspect(p)
		if err != nil {
			continue // not an image: the writer reports it
		}
		s.srcs[i] = src
		res.Before += src.bytes
		foreign = foreign || (src.format != "jpeg" && src.format != "png")
	}
	res.After = res.Before
	if res.Before <= o.MaxBytes && !foreign {
		return res, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("shrink pages: %w", err)
	}
	s.pickSample()
	defer s.dropSample()

	target := o.MaxBytes
	for pass := 0; pass < finalPasses; pass++ {
		st, err := s.search(ctx, target)
		if err != nil {
			return nil, err
		}
		// The sample is decoded again if another search needs it: its
		// memory goes to the pages of the final pass.
		s.dropSample()
		out, err := s.encodeAll(ctx, st, pass)
		if err != nil {
			return nil, err
		}
		if out.After <= o.MaxBytes {
			if out.Converted > 0 && out.SSIM < o.MinSSIM {
				return nil, &CannotFitError{Budget: o.MaxBytes, Need: out.After, Quality: st.quality, Width: st.width,
					Reason: fmt.Sprintf("the pages would differ too much from the originals (similarity %.3f, floor %g)", out.SSIM, o.MinSSIM)}
			}
			out.Before = res.Before
			return out, nil
		}
		// The sample was optimistic: aim lower by the factor it missed by.
		target = int64(float64(target) * float64(o.MaxBytes) / float64(out.After) * 0.98)
	}
	return nil, &CannotFitError{Budget: o.MaxBytes, Need: res.Before, Quality: o.MinQuality, Width: o.MaxWidth,
		Reason: "the estimates kept missing the budget"}
}

type shrinker struct {
	o      Options
	dir    string
	pages  []string
	srcs   []source // zero where the page is failed or unreadable
	sample []*samplePage
	memo   map[setting]estimate
	// sampleCost is the sample's decode memory; release gives it back
	// while it is held (Options.Memory).
	sampleCost int64
	release    func()
}

// samplePage is a decoded page of the search sample with its reference
// render.
type samplePage struct {
	src    source
	img    image.Image
	scaled map[int]image.Image
	gray   bool
	photo  bool
	ref    luma
}

type estimate struct {
	bytes    int64   // the whole chapter, extrapolated
	ssim     float64 // mean over the sample's changed pages (1: none)
	measured bool    // ssim was computed (the size search needs none)
}

// pickSample spreads o.Sample pages evenly over the chapter; they are
// decoded lazily, within samplePixels.
func (s *shrinker) pickSample() {
	var idx []int
	for i, src := range s.srcs {
		if src.path != "" {
			idx = append(idx, i)
		}
	}
	n := min(s.o.Sample, len(idx))
	var px float64
	var cost int64
	for k := 0; k < n; k++ {
		src := s.srcs[idx[k*len(idx)/n]]
		if s.o.Memory != nil && decodeCost(src) > s.o.Memory.Size()/2 {
			continue // the final pass keeps it as it is too
		}
		px += float64(src.w) * float64(src.h)
		if len(s.sample) > 0 && (px > samplePixels || s.o.Memory != nil && cost+decodeCost(src) > s.o.Memory.Size()/2) {
			break // half the shared memory at most: the writers need room too
		}
		cost += decodeCost(src)
		s.sample = append(s.sample, &samplePage{src: src})
	}
	s.sampleCost = cost
	s.memo = map[setting]estimate{}
}

// holdSample reserves the sample's memory before it is decoded, all at
// once (reserving page by page could wait on itself).
func (s *shrinker) holdSample(ctx context.Context) error {
	if s.o.Memory == nil || s.release != nil {
		return nil
	}
	rel, err := s.o.Memory.Take(ctx, s.sampleCost)
	if err != nil {
		return err
	}
	s.release = rel
	return nil
}

// dropSample lets go of the decoded sample and its memory.
func (s *shrinker) dropSample() {
	for _, p := range s.sample {
		p.img, p.scaled = nil, nil
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

func (s *shrinker) total() (all, sample int64) {
	for _, src := range s.srcs {
		all += src.bytes
	}
	for _, p := range s.sample {
		sample += p.src.bytes
	}
	return all, sample
}

// estimate encodes the sample at st and extrapolates by bytes; measure
// also compares each page with its original (a decode and a render more).
func (s *shrinker) estimate(ctx context.Context, st setting, measure bool) (estimate, error) {
	if e, ok := s.memo[st]; ok && (e.measured || !measure) {
		return e, nil
	}
	all, base := s.total()
	var got int64
	var sum float64
	var changed int
	for _, p := range s.sample {
		if err := ctx.Err(); err != nil {
			return estimate{}, err
		}
		if p.img == nil {
			if err := s.holdSample(ctx); err != nil {
				return estimate{}, err
			}
			img, err := decode(p.src)
			if err != nil {
				got += p.src.bytes // left as is in the final pass too
				continue
			}
			p.img = flatten(img)
			p.gray = s.o.Grayscale && isGrayPage(p.img)
			p.photo = p.src.lossless() && isPhotographic(p.img)
			p.ref = render(p.img)
			p.scaled = map[int]image.Image{}
		}
		img := p.img
		if st.width > 0 && p.src.w > st.width {
			if p.scaled[st.width] == nil {
				p.scaled[st.width] = scaleToWidth(p.img, st.width)
			}
			img = p.scaled[st.width]
		}
		data, sim, err := s.apply(p.src, img, p.gray, p.photo, p.ref, st, measure)
		if err != nil || data == nil { // kept as it is in the final pass too
			got += p.src.bytes
			continue
		}
		got += int64(len(data))
		sum += sim
		changed++
	}
	e := estimate{bytes: all, ssim: 1, measured: measure}
	if base > 0 {
		e.bytes = int64(float64(all) * float64(got) / float64(base))
	}
	if changed > 0 {
		e.ssim = sum / float64(changed)
	}
	s.memo[st] = e
	return e, nil
}

// apply encodes one page (img already scaled for st) and, with measure,
// compares it with ref. nil data: the page stays as it is.
func (s *shrinker) apply(src source, img image.Image, gray, photo bool, ref luma, st setting, measure bool) ([]byte, float64, error) {
	scaled := img.Bounds().Dx() < src.w
	copyable := src.format == "jpeg" || src.format == "png"
	if st.photo && copyable && !photo {
		return nil, 1, nil
	}
	if gray {
		img = toGray(img)
	}
	data, err := encodeJPEG(img, st.quality)
	if err != nil {
		return nil, 0, fmt.Errorf("encode page %s: %w", src.path, err)
	}
	if !scaled && copyable && int64(len(data)) >= src.bytes {
		return nil, 1, nil
	}
	if !measure {
		return data, 0, nil
	}
	out, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("check page %s: %w", src.path, err)
	}
	return data, ssim(ref, renderSize(out, ref.w, ref.h)), nil
}

// search finds the setting that should bring the chapter under target
// with the least change, or says why none can.
func (s *shrinker) search(ctx context.Context, target int64) (setting, error) {
	first := setting{quality: topQuality, photo: true}
	e, err := s.estimate(ctx, first, false)
	if err != nil {
		return setting{}, err
	}
	if e.bytes <= target {
		return first, nil
	}
	widths := []int{0}
	if s.o.MaxWidth > 0 {
		widths = append(widths, s.o.MaxWidth)
	}
	var last estimate
	for _, w := range widths {
		lo, hi := s.o.MinQuality, topQuality
		floor, err := s.estimate(ctx, setting{quality: lo, width: w}, false)
		if err != nil {
			return setting{}, err
		}
		last = floor
		if floor.bytes > target {
			continue
		}
		// Highest quality whose estimate fits; size grows with quality.
		for lo < hi {
			mid := (lo + hi + 1) / 2
			e, err := s.estimate(ctx, setting{quality: mid, width: w}, false)
			if err != nil {
				return setting{}, err
			}
			if e.bytes <= target {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		st := setting{quality: lo, width: w}
		e, err := s.estimate(ctx, st, true)
		if err != nil {
			return setting{}, err
		}
		if e.ssim >= s.o.MinSSIM {
			return st, nil
		}
		// Lower quality only differs more; a narrower page may not.
		last = e
		if w == widths[len(widths)-1] {
			return setting{}, &CannotFitError{Budget: s.o.MaxBytes, Need: e.bytes, Quality: lo, Width: w,
				Reason: fmt.Sprintf("quality %d%s would fit but differs too much from the originals (similarity %.3f, floor %g)",
					lo, widthText(w), e.ssim, s.o.MinSSIM)}
		}
	}
	w := widths[len(widths)-1]
	return setting{}, &CannotFitError{Budget: s.o.MaxBytes, Need: last.bytes, Quality: s.o.MinQuality, Width: w,
		Reason: fmt.Sprintf("even quality %d%s needs about %s", s.o.MinQuality, widthText(w), humanize.Bytes(last.bytes))}
}

func widthText(w int) string {
	if w == 0 {
		return ""
	}
	return fmt.Sprintf(" at %d px wide", w)
}

// pageOut is one page after the final pass.
type pageOut struct {
	path  string
	bytes int64
	sim   float64
	gray  bool
	done  bool // re-encoded
}

// page runs st over page i, writing the result into dir. A page that
// cannot be decoded or encoded (too many pixels, a side over JPEG's
// limit, an animated WebP) stays as it is, for the writer to judge; only
// a failed write is an error.
func (s *shrinker) page(ctx context.Context, i int, st setting, dir string) (pageOut, error) {
	src := s.srcs[i]
	keep := pageOut{path: src.path, bytes: src.bytes, sim: 1}
	if m := s.o.Memory; m != nil {
		if decodeCost(src) > m.Size() {
			return keep, nil // the writer decides what to do with it
		}
		release, err := m.Take(ctx, decodeCost(src))
		if err != nil {
			return keep, err
		}
		defer release()
	}
	img, err := decode(src)
	if err != nil {
		return keep, nil
	}
	img = flatten(img)
	gray := s.o.Grayscale && isGrayPage(img)
	photo := src.lossless() && isPhotographic(img)
	ref := render(img)
	data, sim, err := s.apply(src, scaleToWidth(img, st.width), gray, photo, ref, st, true)
	if err != nil || data == nil {
		return keep, nil
	}
	name := filepath.Join(dir, fmt.Sprintf("%04d.jpg", i+1))
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return keep, fmt.Errorf("shrink pages: %w", err)
	}
	return pageOut{path: name, bytes: int64(len(data)), sim: sim, gray: gray, done: true}, nil
}

// encodeAll runs st over every page with o.Workers pages in memory.
func (s *shrinker) encodeAll(ctx context.Context, st setting, pass int) (*Result, error) {
	sub := filepath.Join(s.dir, fmt.Sprintf("pass%d", pass))
	if pass > 0 {
		os.RemoveAll(filepath.Join(s.dir, fmt.Sprintf("pass%d", pass-1)))
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return nil, fmt.Errorf("shrink pages: %w", err)
	}
	outs := make([]pageOut, len(s.srcs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
	)
	for range s.o.Workers {
		wg.Go(func() {
			for i := range jobs {
				po, err := s.page(ctx, i, st, sub)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
				outs[i] = po
				mu.Lock()
				done++
				if s.o.Progress != nil {
					s.o.Progress(done, len(s.srcs))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i, src := range s.srcs {
		if src.path == "" {
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Paths: append([]string(nil), s.pages...), SSIM: 1, WorstSSIM: 1}
	var sum float64
	for i, po := range outs {
		if st.width > 0 && s.srcs[i].w > st.width {
			res.Width = st.width
		}
		if po.done {
			res.Paths[i] = po.path
		}
		res.After += po.bytes
		if po.done {
			res.Converted++
			sum += po.sim
			res.WorstSSIM = min(res.WorstSSIM, po.sim)
			if po.gray {
				res.Gray++
			}
		}
	}
	if res.Converted > 0 {
		res.SSIM = sum / float64(res.Converted)
		res.Quality = st.quality
	}
	return res, nil
}
