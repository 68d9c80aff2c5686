package pipeline

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mangabot/mangabot/internal/sanitize"
	"github.com/mangabot/mangabot/sites"
)

// FileName is a file name for a group of chapters, safe on every OS:
// "Series - Vol.1 Ch.12 - Title.pdf".
func FileName(g []*sites.Chapter, byVolume bool) string {
	c := g[0]
	var parts []string
	if c.Series != "" {
		parts = append(parts, c.Series)
	}
	switch {
	case len(g) > 1 && byVolume && c.Volume != "":
		parts = append(parts, "Vol."+c.Volume)
	case len(g) > 1:
		parts = append(parts, "Ch."+c.Number+"-"+g[len(g)-1].Number)
	default:
		var l []string
		if c.Volume != "" {
			l = append(l, "Vol."+c.Volume)
		}
		if c.Number != "" {
			l = append(l, "Ch."+c.Number)
		}
		if len(l) > 0 {
			parts = append(parts, strings.Join(l, " "))
		}
		if c.Title != "" {
			parts = append(parts, c.Title)
		}
	}
	name := SafeName(strings.Join(parts, " - "))
	if name == "" {
		name = SafeName(c.Site + " " + c.ID)
	}
	if name == "" {
		name = "chapter"
	}
	return name + ".pdf"
}

// SafeName makes s usable as a file name on Linux, macOS and Windows:
// no separators or reserved characters, no control characters or bidi
// overrides (a U+202E makes "x\u202efdp.exe" display as "xexe.pdf"), no
// trailing dots or spaces, no reserved device names, at most 150 bytes.
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range sanitize.Text(s) {
		switch {
		case strings.ContainsRune(`<>:"/\|?*`, r):
			b.WriteRune('_')
		case unicode.IsControl(r) || r == utf8.RuneError:
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	for len(out) > 150 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	out = strings.TrimRight(out, ". ")
	out = strings.TrimLeft(out, ". ")
	base := strings.ToUpper(out)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		out = "_" + out
	}
	return out
}
