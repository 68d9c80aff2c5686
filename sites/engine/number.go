package engine

import (
	"regexp"
	"strings"
)

var (
	// numberWords are the words readers put before a chapter number, in the
	// languages the engines' sites are mostly written in. "Vol." is not one:
	// "Vol.2 Chapter 10.5" is chapter 10.5.
	keywordNumber = regexp.MustCompile(`(?i)(?:^|[^\pL])(?:chapter|chapitre|chap|ch|episode|ep|cap[ií]tulo|cap|kapitel|bölüm|bab|chương|глава|эпизод)\s*\.?\s*#?\s*(\d+(?:[.,]\d+)?)`)
	// leadingNumber: titles that are only a number ("109") or start with
	// one ("60 - The End").
	leadingNumber = regexp.MustCompile(`^#?(\d+(?:[.,]\d+)?)(?:$|[^\pL\d.,])`)
	// slugNumber: the chapter number in a link's last path segment
	// ("/manga/solo-hero/chapter-2-5/", "/solo-hero-chapter-12/").
	slugNumber = regexp.MustCompile(`(?i)(?:chapter|chap|ch|episode|ep|cap|capitulo)[-_]?(\d+)(?:[-_.](\d{1,2}))?/?$`)
	spaces     = regexp.MustCompile(`\s+`)
)

// Clean collapses the runs of whitespace (tabs and newlines around
// chapter titles in Madara's lists) into single spaces.
func Clean(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// Number reads the chapter number from a chapter's title as readers write
// it: "Chapter 2.5", "Ch. 10 - The End", "Episode 7", "Vol.2 Chapter 10.5:
// Name", "Capítulo 3", or a bare "109". It returns "" when the title has
// no number. Leading zeros go ("007" is "7"); a decimal comma becomes a
// point.
func Number(title string) string {
	t := Clean(title)
	if m := keywordNumber.FindStringSubmatch(t); m != nil {
		return canonical(m[1])
	}
	if m := leadingNumber.FindStringSubmatch(t); m != nil {
		return canonical(m[1])
	}
	return ""
}

// NumberFromPath reads the chapter number from a chapter link's last path
// segment ("chapter-12", "chapter-2-5" is 2.5); "" when there is none.
// Titles are the better source: some sites append "-2" to a reposted
// chapter's slug.
func NumberFromPath(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	m := slugNumber.FindStringSubmatch(p)
	if m == nil {
		return ""
	}
	if m[2] != "" {
		return canonical(m[1] + "." + m[2])
	}
	return canonical(m[1])
}

// canonical drops leading zeros of the integer part and writes a decimal
// comma as a point: "007" is "7", "10,5" is "10.5", "0.5" stays.
func canonical(n string) string {
	n = strings.Replace(n, ",", ".", 1)
	whole, frac, hasFrac := strings.Cut(n, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if hasFrac {
		return whole + "." + frac
	}
	return whole
}

// volumePrefix is a leading "Vol.2 " / "Volume 2 - ".
var volumePrefix = regexp.MustCompile(`(?i)^(?:vol(?:ume)?\.?\s*\d+(?:\.\d+)?)\s*[-–—:|·,]?\s*`)

// Name is a chapter title without its "Vol. N" and "Chapter N" parts: what
// is left is the chapter's own name ("Chapter 10 - The End" is "The End",
// "Chapter 10" is ""). A title without a number is returned whole
// ("Prologue").
func Name(title string) string {
	t := Clean(title)
	loc := keywordNumber.FindStringSubmatchIndex(t)
	if loc == nil {
		loc = leadingNumber.FindStringSubmatchIndex(t)
		if loc == nil {
			return t
		}
		// leadingNumber may end on the separator after the number.
		loc[1] = loc[3]
	}
	before := strings.TrimSpace(volumePrefix.ReplaceAllString(t[:loc[0]], ""))
	after := strings.Trim(t[loc[1]:], " -–—:|·,")
	if before != "" && after == "" {
		return before
	}
	return after
}
