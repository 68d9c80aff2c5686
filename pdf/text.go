package pdf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
)

// textString encodes s as a PDF text string: a literal string when plain
// ASCII, else UTF-16BE with a byte order mark (hex) so that Japanese
// titles survive in every reader.
func textString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return "(" + escapeLiteral(s) + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

func escapeLiteral(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// winAnsi renders s for a standard Type1 font with WinAnsiEncoding: ASCII
// as is, Latin-1 letters as octal escapes (WinAnsi agrees with Latin-1
// there), anything else as '?' since base fonts have no other glyphs.
func winAnsi(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == '(' || r == ')':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// wrap breaks s into lines of at most n runes, at spaces when possible.
func wrap(s string, n int) []string {
	var lines []string
	for _, para := range strings.Fields(s) {
		last := len(lines) - 1
		switch {
		case last >= 0 && len([]rune(lines[last]))+1+len([]rune(para)) <= n:
			lines[last] += " " + para
		default:
			for r := []rune(para); len(r) > 0; {
				k := min(n, len(r))
				lines = append(lines, string(r[:k]))
				r = r[k:]
			}
		}
	}
	return lines
}

// placeholderContent is the content stream of a page saying that input page
// number (1-based) is missing and why.
func placeholderContent(number int, reason string, pw, ph float64) []byte {
	size := min(max(pw/32, 9), 36)
	// Helvetica averages about half an em per character.
	perLine := max(int((pw*0.84)/(size*0.52)), 20)
	lines := []string{fmt.Sprintf("Page %d is missing:", number)}
	lines = append(lines, wrap(reason, perLine)...)
	if len(lines) > 40 {
		lines = append(lines[:40], "...")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "BT /F1 %s Tf %s TL %s %s Td", num(size), num(size*1.4), num(pw*0.08), num(ph-max(ph*0.1, size*2)))
	for i, l := range lines {
		if i > 0 {
			b.WriteString(" T*")
		}
		fmt.Fprintf(&b, " (%s) Tj", winAnsi(l))
	}
	b.WriteString(" ET")
	return b.Bytes()
}
