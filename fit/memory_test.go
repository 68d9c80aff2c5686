package fit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/pagegen"
	"github.com/mangabot/mangabot/pdf"
)

// Under a decode memory that holds about one page at a time (the PDF
// writer's budget, shared), shrinking still finishes: the sample shrinks
// to what half the memory holds and pages wait their turn. A page bigger
// than the whole memory stays as it is.
func TestShrinkWithinSharedMemory(t *testing.T) {
	dir := t.TempDir()
	var pages []string
	var total int64
	for i := range 4 {
		p := filepath.Join(dir, string(rune('a'+i))+".jpg")
		b := pagegen.JPEG(pagegen.Scan(600, 900, uint64(i), false), 95)
		writeFile(t, p, b)
		pages = append(pages, p)
		total += int64(len(b))
	}
	// One 600×900 page costs 5.4 MB (10 bytes a pixel): room for two.
	mem := pdf.NewBudget(11 << 20)
	res, err := fit.Shrink(context.Background(), pages, filepath.Join(dir, "out"),
		fit.Options{MaxBytes: total / 2, MinSSIM: 0.8, Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted != 4 || res.After > total/2 {
		t.Errorf("got %+v, budget %d", res, total/2)
	}
	// Less than one page: nothing can be decoded, nothing changes.
	_, err = fit.Shrink(context.Background(), pages, filepath.Join(dir, "out2"),
		fit.Options{MaxBytes: total / 2, Memory: pdf.NewBudget(1 << 20)})
	if err == nil {
		t.Error("shrank pages it had no memory to decode")
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
