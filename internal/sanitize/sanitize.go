// Package sanitize cleans text that came from a site before it reaches a
// terminal, a log line, a Discord message, a file name or document
// metadata. A title is hostile input: ESC and the C1 CSI start terminal
// escape sequences, BEL rings, and a right-to-left override makes
// "x\u202Efdp.exe" display as "xexe.pdf".
package sanitize

import (
	"strings"
	"unicode/utf8"
)

// Text returns s without control characters (C0, DEL, C1) and without
// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069). Line breaks and tabs (and U+2028, U+2029) become a space
// so that words stay apart; invalid UTF-8 becomes U+FFFD. Everything else
// is kept as is: letters of every script, emoji, ZWJ sequences, marks.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		i += n
		switch {
		case space(r):
			b.WriteByte(' ')
		case drop(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean reports whether Text would return s unchanged, without allocating.
func clean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || space(r) || drop(r) {
			return false
		}
		i += n
	}
	return true
}

func space(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

func drop(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}
