package book

import (
	"fmt"
	"testing"
)

func TestPartNames(t *testing.T) {
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/d/ch 12.pdf", "[/d/ch 12.pdf /d/ch 12-part2.pdf /d/ch 12-part3.pdf]"},
		{"/d/Vol.2.cbz", "[/d/Vol.2.cbz /d/Vol.2-part2.cbz /d/Vol.2-part3.cbz]"},
		{"x.EPUB", "[x.EPUB x-part2.EPUB x-part3.EPUB]"},
	} {
		if got := fmt.Sprint(PartNames(tc.path, 3)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, got, tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": PDF, "pdf": PDF, " CBZ ": CBZ, "epub": EPUB} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("%q: %v %v", in, f, err)
		}
	}
	if _, err := ParseFormat("mobi"); err == nil {
		t.Error("mobi accepted")
	}
}
