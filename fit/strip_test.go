package fit_test

import (
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/pagegen"
	"github.com/mangabot/mangabot/pdf"
)

type gap = pagegen.Gap

// webtoon writes the strip's slices as JPEG files (as WEBTOON serves
// them) and returns their paths.
func webtoon(t testing.TB, dir string, width, height, sliceH int, gaps, decoys []gap) []string {
	t.Helper()
	s := pagegen.Webtoon{Width: width, Height: height, SliceHeight: sliceH, Gaps: gaps, Decoys: decoys}
	var paths []string
	for i := range s.Slices() {
		p := filepath.Join(dir, fmt.Sprintf("slice%03d.jpg", i))
		if err := os.WriteFile(p, pagegen.JPEG(s.Slice(i), 90), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// The fixture: 800×40,000 px in 40 slices, gaps at known rows
// (one across a slice boundary), decoys, and one 3,400-row stretch with no
// gap at all.
func TestStripCutsAtGaps(t *testing.T) {
	dir := t.TempDir()
	var gaps, decoys []gap
	for _, y := range []int{1100, 2500, 3700, 4980, 6400, 7300, 8600, 9950, 11500, 12700,
		14200, 15500, 16900, 18000, 19400 /* then none until */, 22800, 24100, 25600, 26900,
		28300, 29500, 30999, 32400, 33700, 35000, 36500, 37800, 39000} {
		gaps = append(gaps, gap{From: y, To: y + 40})
	}
	for _, y := range []int{1800, 3100, 5600, 20700, 21300} {
		decoys = append(decoys, gap{From: y, To: y + 4})
	}
	slices := webtoon(t, dir, 800, 40000, 1000, gaps, decoys)
	res, err := fit.Strip(context.Background(), slices, filepath.Join(dir, "pages"), fit.StripOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 800 || res.Height != 40000 || len(res.Paths) != len(res.Cuts)+1 {
		t.Fatalf("strip %dx%d, %d pages, %d cuts", res.Width, res.Height, len(res.Paths), len(res.Cuts))
	}
	t.Logf("cuts: %v", res.Cuts)
	target := 1280 // 800 × 1.6
	prev := 0
	crossed := 0
	for _, c := range append(res.Cuts, 40000) {
		h := c - prev
		if h < target/2 || h > 2*target {
			t.Errorf("page at %d is %d rows, want %d..%d", prev, h, target/2, 2*target)
		}
		inGap := false
		for _, g := range gaps {
			inGap = inGap || (c >= g.From && c < g.To)
		}
		if c != 40000 && !inGap {
			// Only allowed where no gap lies within reach.
			for _, g := range gaps {
				if mid := (g.From + g.To) / 2; mid-prev >= target/2 && mid-prev <= 2*target {
					t.Errorf("cut at %d crosses a panel although the gap at %d was near", c, g.From)
				}
			}
			crossed++
		}
		if inGap {
			// The gap taken is the one nearest the aimed height.
			for _, g := range gaps {
				mid := (g.From + g.To) / 2
				if c >= g.From && c < g.To {
					continue
				}
				if mid-prev >= target/2 && mid-prev <= 2*target && abs(mid-prev-target) < abs(c-prev-target) {
					t.Errorf("cut at %d, but the gap at %d is nearer the aim", c, g.From)
				}
			}
		}
		prev = c
	}
	if crossed == 0 || crossed != len(res.Cuts)-res.AtGaps {
		t.Errorf("%d cuts crossed panels (AtGaps %d of %d): the gapless stretch must be crossed", crossed, res.AtGaps, len(res.Cuts))
	}
	var sum int
	prev = 0
	for i, p := range res.Paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := 40000 - prev
		if i < len(res.Cuts) {
			want = res.Cuts[i] - prev
			prev = res.Cuts[i]
		}
		if cfg.Width != 800 || cfg.Height != want {
			t.Errorf("page %d is %dx%d, want 800x%d", i+1, cfg.Width, cfg.Height, want)
		}
		sum += cfg.Height
	}
	if sum != 40000 {
		t.Errorf("pages hold %d rows of 40000", sum)
	}

	// The pages make a valid PDF whose pages are within the side limit.
	pages := make([]pdf.Page, len(res.Paths))
	for i, p := range res.Paths {
		pages[i] = pdf.Page{Path: p}
	}
	out := filepath.Join(dir, "strip.pdf")
	if _, _, err := pdf.WriteFiles(context.Background(), out, pages, pdf.Info{Title: "strip"}, pdf.Options{}); err != nil {
		t.Fatal(err)
	}
	checkPDF(t, out, len(res.Paths))
}

// A strip taller than the page height cap with no gap anywhere is still
// cut, within the cap.
func TestStripNoGapsRespectsMaxHeight(t *testing.T) {
	dir := t.TempDir()
	slices := webtoon(t, dir, 200, 5000, 700, nil, nil)
	res, err := fit.Strip(context.Background(), slices, filepath.Join(dir, "pages"), fit.StripOptions{PageRatio: 10, MaxHeight: 1500})
	if err != nil {
		t.Fatal(err)
	}
	prev := 0
	for _, c := range append(res.Cuts, 5000) {
		if c-prev > 1500 || c-prev <= 0 {
			t.Errorf("page of %d rows, cap 1500", c-prev)
		}
		prev = c
	}
	if res.AtGaps != 0 {
		t.Errorf("AtGaps %d without gaps", res.AtGaps)
	}
}

func TestStripBadSlice(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jpg")
	os.WriteFile(bad, []byte("<html>not found</html>"), 0o644)
	slices := append(webtoon(t, dir, 100, 300, 100, nil, nil), bad)
	if _, err := fit.Strip(context.Background(), slices, filepath.Join(dir, "pages"), fit.StripOptions{}); err == nil || !strings.Contains(err.Error(), "slice 4") {
		t.Errorf("err = %v, want one naming slice 4", err)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// checkPDF runs qpdf --check and pdfinfo: n pages, every side within
// 14,400 units.
func checkPDF(t *testing.T, path string, n int) {
	t.Helper()
	for _, tool := range []string{"qpdf", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s missing: .ci/run must install it", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdfinfo", "-f", "1", "-l", strconv.Itoa(n), path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^Pages: +%d$`, n)).Match(out) {
		t.Errorf("pdfinfo: want %d pages:\n%s", n, out)
	}
	sizes := regexp.MustCompile(`Page +\d+ size: +([\d.]+) x ([\d.]+) pts`).FindAllStringSubmatch(string(out), -1)
	if len(sizes) != n {
		t.Fatalf("pdfinfo listed %d page sizes, want %d", len(sizes), n)
	}
	for i, m := range sizes {
		w, _ := strconv.ParseFloat(m[1], 64)
		h, _ := strconv.ParseFloat(m[2], 64)
		if w > 14400 || h > 14400 || w <= 0 || h <= 0 {
			t.Errorf("page %d is %v x %v pts", i+1, w, h)
		}
	}
}

// A strip of 200 slices is never held whole: the heap stays far below
// the strip's decoded size (800×128,000 RGBA = 410 MB).
func TestStripMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("200 slices; heap figures under -race mean nothing")
	}
	dir := t.TempDir()
	one := webtoon(t, dir, 800, 640, 640, []gap{{From: 300, To: 340}}, nil)[0]
	slices := make([]string, 200)
	for i := range slices {
		slices[i] = one
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	res, err := fit.Strip(context.Background(), slices, filepath.Join(dir, "pages"), fit.StripOptions{})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pages, peak heap %.1f MiB", len(res.Paths), float64(peak.Load())/(1<<20))
	if res.Height != 128000 || res.AtGaps != len(res.Cuts) {
		t.Errorf("height %d, %d of %d cuts at gaps", res.Height, res.AtGaps, len(res.Cuts))
	}
	if peak.Load() > 150<<20 {
		t.Errorf("peak heap %d MiB: the strip is being held", peak.Load()>>20)
	}
}
