package sites

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// plainNumber is what a selection accepts as a chapter number: digits with
// an optional fraction ("12", "12.5"). strconv.ParseFloat alone would also
// take "nan", "inf", "1e3", "0x10", "+3" and "1_0".
var plainNumber = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)

// parseNumber parses a plain decimal number; ok is false for anything else.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if !plainNumber.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// Selection is a parsed chapter selection: "12", "1-5", "1,4,7-9", "last",
// "all". One syntax everywhere (CLI -chapters, Discord chapters:).
type Selection struct {
	all, last bool
	ranges    [][2]float64 // inclusive
}

// ParseSelection parses a selection; empty means "all".
func ParseSelection(s string) (Selection, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "all", "*":
		return Selection{all: true}, nil
	case "last", "latest":
		return Selection{last: true}, nil
	}
	var sel Selection
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := parseNumber(lo)
		if !ok {
			return Selection{}, fmt.Errorf("%w: %q (use e.g. 12, 1-5, 1,4,7-9, last or all)", ErrBadSelection, part)
		}
		b := a
		if isRange {
			if b, ok = parseNumber(hi); !ok || b < a {
				return Selection{}, fmt.Errorf("%w: %q (use e.g. 12, 1-5, 1,4,7-9, last or all)", ErrBadSelection, part)
			}
		}
		sel.ranges = append(sel.ranges, [2]float64{a, b})
	}
	if len(sel.ranges) == 0 {
		return Selection{}, fmt.Errorf("%w: %q", ErrBadSelection, s)
	}
	return sel, nil
}

// String gives the selection back in canonical form.
func (sel Selection) String() string {
	switch {
	case sel.all:
		return "all"
	case sel.last:
		return "last"
	}
	parts := make([]string, len(sel.ranges))
	for i, r := range sel.ranges {
		f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
		if r[0] == r[1] {
			parts[i] = f(r[0])
		} else {
			parts[i] = f(r[0]) + "-" + f(r[1])
		}
	}
	return strings.Join(parts, ",")
}

// Apply picks the selected chapters from chs (in reading order), keeping
// that order. Chapters without a numeric Number match only "all" and
// "last". max > 0 bounds the result: more is an error telling the user to
// narrow the selection. No match is an error too.
func (sel Selection) Apply(chs []*Chapter, max int) ([]*Chapter, error) {
	var out []*Chapter
	switch {
	case sel.all:
		out = chs
	case sel.last:
		if len(chs) > 0 {
			out = chs[len(chs)-1:]
		}
	default:
		for _, c := range chs {
			n, ok := parseNumber(c.Number)
			if !ok {
				continue
			}
			for _, r := range sel.ranges {
				if n >= r[0] && n <= r[1] {
					out = append(out, c)
					break
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no chapter matches %q (%d chapters available)", ErrNotFound, sel.String(), len(chs))
	}
	if max > 0 && len(out) > max {
		return nil, fmt.Errorf("%w: %q selects %d chapters, more than the limit of %d; narrow it, e.g. chapters 1-%d", ErrBadSelection, sel.String(), len(out), max, max)
	}
	return out, nil
}
