package pdf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "p3.jpg")
	os.WriteFile(html, []byte("<html>rate limited</html>"), 0o644)
	reason := `HTTP 404 (Not Found) \ 日本 é`
	pages := []Page{
		{Err: errors.New("timeout")},
		{Path: td("video-001.jpeg")},
		{Err: errors.New(reason)},
		{Path: html},
		{Path: td("video-005.gray.png")},
	}
	for _, on := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("ph-%v.pdf", on))
		_, st, err := WriteFiles(context.Background(), out, pages, Info{}, Options{DPI: 72, Placeholders: on})
		if err != nil {
			t.Fatal(err)
		}
		qpdfCheck(t, out)
		wantSkipped := []Skipped{{0, "timeout"}, {2, reason}, {3, "not an image"}}
		if fmt.Sprint(st.Skipped) != fmt.Sprint(wantSkipped) {
			t.Errorf("skipped %v", st.Skipped)
		}
		sizes := pageSizes(t, out)
		if !on {
			if st.Pages != 2 || len(sizes) != 2 || sizes[0] != [2]float64{150, 103} {
				t.Errorf("without placeholders: %d pages, sizes %v", st.Pages, sizes)
			}
			continue
		}
		if st.Pages != 5 || len(sizes) != 5 {
			t.Fatalf("with placeholders: %d pages, sizes %v", st.Pages, sizes)
		}
		// Placeholders take the width of the neighbouring image pages.
		for _, i := range []int{0, 2, 3} {
			if sizes[i][0] != 150 {
				t.Errorf("placeholder %d size %v", i+1, sizes[i])
			}
		}
		text := func(n int) string {
			return run(t, "pdftotext", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-raw", out, "-")
		}
		all := strings.Join(strings.Fields(text(3)), " ")
		if want := `Page 3 is missing: HTTP 404 (Not Found) \ ?? é`; !strings.Contains(all, want) {
			t.Errorf("page 3 text %q, want %q", all, want)
		}
		if got := strings.Join(strings.Fields(text(1)), " "); got != "Page 1 is missing: timeout" {
			t.Errorf("page 1 text %q", got)
		}
		if got := strings.Join(strings.Fields(text(4)), " "); got != "Page 4 is missing: not an image" {
			t.Errorf("page 4 text %q", got)
		}
	}
}
