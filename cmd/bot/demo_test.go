package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// bot demo works offline and with no config: it writes the sample chapter
// as a PDF of 8 image pages (PNG and JPEG, so both paths of the writer),
// named from the demo page's title.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	r := run(t, context.Background(), "demo", "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := filepath.Join(out, "Mangabot Demo - Ch.1 - First Light.pdf")
	if strings.TrimSpace(r.stdout) != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	if n := pdfPages(t, want); n != demoPages {
		t.Fatalf("%d pages, want %d", n, demoPages)
	}
	list := toolOutput(t, "pdfimages", "-list", want)
	lines := strings.Split(strings.TrimSpace(list), "\n")[2:]
	var jpeg, flate int
	for _, l := range lines {
		switch strings.Fields(l)[8] {
		case "jpeg":
			jpeg++
		case "image":
			flate++
		}
	}
	if jpeg != demoPages/2 || flate != demoPages/2 {
		t.Errorf("images: %d jpeg, %d flate; want %d of each\n%s", jpeg, flate, demoPages/2, list)
	}
	if names := dirEntries(t, out); len(names) != 1 {
		t.Errorf("output dir holds %v", names)
	}
	if !strings.Contains(r.stderr, "8 pages, 0 failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}
