package sanitize

import (
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain ascii", "One Piece - Ch. 1105: The Hero", "One Piece - Ch. 1105: The Hero"},
		{"empty", "", ""},
		{"japanese", "ワンピース 第1105話", "ワンピース 第1105話"},
		{"korean and chinese", "나 혼자만 레벨업 / 我独自升级", "나 혼자만 레벨업 / 我独自升级"},
		{"accents, combining mark", "Café crème, e\u0301", "Café crème, e\u0301"},
		{"emoji and zwj family", "🔥 Ch. 7 👨‍👩‍👧‍👦 🏳️‍🌈", "🔥 Ch. 7 👨‍👩‍👧‍👦 🏳️‍🌈"},
		{"zwnj and marks kept", "می\u200cخواهم \u200f", "می\u200cخواهم \u200f"},
		{"arabic, hebrew", "الفصل ٧ פרק", "الفصل ٧ פרק"},
		{"escape sequence", "Title\x1b[2J\x1b]0;pwned\x07", "Title[2J]0;pwned"},
		{"bell and nul", "a\x07b\x00c", "abc"},
		{"delete", "a\x7fb", "ab"},
		{"c1 csi", "a\u009b31mred", "a31mred"},
		{"c1 range ends", "\u0080x\u009f", "x"},
		{"nel is a line break", "a\u0085b", "a b"},
		{"newlines and tabs", "Chapter 7\n\tThe End\r\n", "Chapter 7  The End  "},
		{"line separator", "a\u2028b\u2029c", "a b c"},
		{"rlo file name", "Ch.7 \u202efdp.exe", "Ch.7 fdp.exe"},
		{"every embedding and override", "\u202aa\u202bb\u202cc\u202dd\u202ee", "abcde"},
		{"every isolate", "\u2066a\u2067b\u2068c\u2069", "abc"},
		{"neighbours of the bidi ranges kept", "\u2029x\u202f\u2065\u206a", " x\u202f\u2065\u206a"},
		{"invalid utf-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"raw c1 byte", "a\x9bb", "a\ufffdb"},
	} {
		got := Text(c.in)
		if got != c.want {
			t.Errorf("%s: Text(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		if Text(got) != got {
			t.Errorf("%s: not idempotent: %q", c.name, got)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: invalid UTF-8 out: %q", c.name, got)
		}
	}
}

// TestTextUnchangedDoesNotAllocate: clean text, the usual case, is returned
// as is.
func TestTextUnchangedDoesNotAllocate(t *testing.T) {
	s := "ワンピース 第1105話 🔥"
	if n := testing.AllocsPerRun(100, func() { _ = Text(s) }); n != 0 {
		t.Errorf("%v allocations for clean text", n)
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"Title\x1b[2J", "x\u202efdp.exe", "👨‍👩‍👧", "a\xffb", "\u0085\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		for _, r := range out {
			if drop(r) || space(r) && r != ' ' {
				t.Fatalf("%q left in %q", r, out)
			}
		}
		if Text(out) != out {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}
