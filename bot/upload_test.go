package bot

import (
	"testing"
	"time"

	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/pipeline"
)

func TestUploadBudget(t *testing.T) {
	for _, c := range []struct {
		limit, want int64
	}{
		{100 << 10, 100<<10 - 4<<10},       // small limits keep 4 KiB for the envelope
		{10 << 20, 10<<20 - 10<<20/50},     // 2% of the limit
		{25 << 20, 25<<20 - 256<<10},       // at most 256 KiB
		{500 << 20, 500<<20 - 256<<10},     // (a boosted server)
		{8 << 20, 8<<20 - int64(8<<20)/50}, // Discord's old default
	} {
		if got := uploadBudget(c.limit); got != c.want {
			t.Errorf("uploadBudget(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}

func TestPartSizeHonoursOperatorCap(t *testing.T) {
	b := &Bot{env: &pipeline.Env{}}
	if got := b.partSize(10 << 20); got != uploadBudget(10<<20) {
		t.Errorf("no cap: %d, want the budget %d", got, uploadBudget(10<<20))
	}
	b.env.PDF = pdf.Options{MaxFileBytes: 2 << 20}
	if got := b.partSize(10 << 20); got != 2<<20 {
		t.Errorf("cap below the budget: %d, want 2 MiB", got)
	}
	if got := b.partSize(1 << 20); got != uploadBudget(1<<20) {
		t.Errorf("cap above the budget: %d, want the budget %d", got, uploadBudget(1<<20))
	}
}

func TestFittingCountsPartsAndSizes(t *testing.T) {
	d := &delivery{b: &Bot{cfg: Config{MaxParts: 2}}}
	files := func(sizes ...int64) []outFile {
		var fs []outFile
		for _, s := range sizes {
			fs = append(fs, outFile{size: s})
		}
		return fs
	}
	for _, c := range []struct {
		name    string
		files   []outFile
		fits    bool
		largest int64
	}{
		{"one under", files(90), true, 90},
		{"two at the budget", files(100, 100), true, 100},
		{"one over", files(50, 101), false, 101},
		{"too many parts", files(10, 10, 10), false, 10},
	} {
		fits, largest := d.fitting(c.files, 100)
		if fits != c.fits || largest != c.largest {
			t.Errorf("%s: fits %v largest %d, want %v %d", c.name, fits, largest, c.fits, c.largest)
		}
	}
}

func TestUploadTimeoutGrowsWithSize(t *testing.T) {
	b := &Bot{cfg: Config{UploadTimeout: 30 * time.Second, UploadMinRate: 128 << 10}}
	if got := b.uploadTimeout(0); got != 30*time.Second {
		t.Errorf("empty file: %v", got)
	}
	if got := b.uploadTimeout(10 << 20); got != 30*time.Second+80*time.Second {
		t.Errorf("10 MiB at 128 KiB/s: %v, want 1m50s", got)
	}
}
