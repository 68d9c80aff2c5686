package engine

import (
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// ScriptJSON finds marker in the page's inline scripts and returns the
// JSON value (object or array) that starts after it: the argument of
// MangaThemesia's `ts_reader.run(`, FoolSlide's `var pages = `, Madara's
// `var chapter_preloaded_images = `. The value is cut at its matching
// bracket, strings and escapes respected, so what follows it in the script
// does not matter. ok is false when no script holds marker followed by a
// complete value.
func ScriptJSON(doc *goquery.Document, marker string) (raw string, ok bool) {
	doc.Find("script").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		raw, ok = JSONAfter(s.Text(), marker)
		return !ok
	})
	return raw, ok
}

// JSONAfter is ScriptJSON on one script's text.
func JSONAfter(text, marker string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(text[from:], marker)
		if i < 0 {
			return "", false
		}
		start := from + i + len(marker)
		j := start
		for j < len(text) && strings.ContainsRune(" \t\r\n", rune(text[j])) {
			j++
		}
		if j < len(text) && (text[j] == '{' || text[j] == '[') {
			if end := matchBracket(text, j); end > 0 {
				return text[j : end+1], true
			}
		}
		from = start
	}
}

// matchBracket returns the index of the bracket closing the one at open,
// or -1 when the text ends first.
func matchBracket(text string, open int) int {
	depth := 0
	inString := false
	for i := open; i < len(text); i++ {
		c := text[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
