package sites

import (
	"errors"
	"strings"
	"testing"
)

func chapters(nums ...string) []*Chapter {
	var out []*Chapter
	for _, n := range nums {
		out = append(out, &Chapter{Number: n})
	}
	return out
}

func numbers(chs []*Chapter) string {
	var s []string
	for _, c := range chs {
		s = append(s, c.Number)
	}
	return strings.Join(s, " ")
}

func TestSelection(t *testing.T) {
	chs := chapters("1", "2", "3", "3.5", "4", "5", "7", "8", "9", "12", "extra")
	for _, tc := range []struct{ sel, want string }{
		{"12", "12"},
		{"1-5", "1 2 3 3.5 4 5"},
		{"1,4,7-9", "1 4 7 8 9"},
		{" 9 , 1 ", "1 9"}, // reading order kept, not selection order
		{"last", "extra"},
		{"all", "1 2 3 3.5 4 5 7 8 9 12 extra"},
		{"", "1 2 3 3.5 4 5 7 8 9 12 extra"},
		{"3.5", "3.5"},
		{"03", "3"},
		{"3.50", "3.5"},
		{"0-3", "1 2 3"},
	} {
		sel, err := ParseSelection(tc.sel)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		got, err := sel.Apply(chs, 0)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		if numbers(got) != tc.want {
			t.Errorf("%q: got %q want %q", tc.sel, numbers(got), tc.want)
		}
	}
}

func TestSelectionErrors(t *testing.T) {
	for _, bad := range []string{"abc", "5-1", "1-", "-3", ",", "1-x",
		// Only plain decimal numbers: strconv.ParseFloat takes all of these.
		"nan", "NaN", "inf", "+Inf", "infinity", "1-inf", "nan-3", "1e3", "1E3", "2-1e1", "0x10", "0x1p4",
		"1_000", "+3", "3.", ".5", "1-+5", "12,nan"} {
		if _, err := ParseSelection(bad); !errors.Is(err, ErrBadSelection) {
			t.Errorf("%q: want ErrBadSelection, got %v", bad, err)
		}
	}
	chs := chapters("1", "2", "3", "4")
	sel, _ := ParseSelection("1-4")
	if _, err := sel.Apply(chs, 3); !errors.Is(err, ErrBadSelection) || !strings.Contains(err.Error(), "limit of 3") {
		t.Errorf("max: got %v", err)
	}
	// A chapter whose number is not plain decimal is matched only by all
	// and last, never by a number ParseFloat would read it as.
	odd := chapters("1", "1e1", "0x10", "inf", "10", "16")
	for sel, want := range map[string]string{"10": "10", "16": "16", "1-1000": "1 10 16", "all": "1 1e1 0x10 inf 10 16"} {
		s, err := ParseSelection(sel)
		if err != nil {
			t.Fatalf("%q: %v", sel, err)
		}
		got, err := s.Apply(odd, 0)
		if err != nil || numbers(got) != want {
			t.Errorf("%q on odd numbers: got %q, %v; want %q", sel, numbers(got), err, want)
		}
	}
	sel, _ = ParseSelection("99")
	if _, err := sel.Apply(chs, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("no match: got %v", err)
	}
}
