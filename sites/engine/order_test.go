package engine

import (
	"reflect"
	"testing"
)

func urls(ls []Link) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.URL)
	}
	return out
}

func TestReadingOrder(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []Link
		want []string
	}{
		"newest first is reversed": {
			in:   []Link{{URL: "c3", Number: "3"}, {URL: "c2", Number: "2"}, {URL: "c1", Number: "1"}},
			want: []string{"c1", "c2", "c3"},
		},
		"oldest first stays": {
			in:   []Link{{URL: "c1", Number: "1"}, {URL: "c2", Number: "2"}, {URL: "c10", Number: "10"}},
			want: []string{"c1", "c2", "c10"},
		},
		"a late 2.5 moves between 2 and 3": {
			in:   []Link{{URL: "c2.5", Number: "2.5"}, {URL: "c4", Number: "4"}, {URL: "c3", Number: "3"}, {URL: "c2", Number: "2"}, {URL: "c1", Number: "1"}},
			want: []string{"c1", "c2", "c2.5", "c3", "c4"},
		},
		"unnumbered keep their place": {
			in:   []Link{{URL: "c3", Number: "3"}, {URL: "extra"}, {URL: "c2", Number: "2"}, {URL: "c1", Number: "1"}, {URL: "prologue"}},
			want: []string{"prologue", "c1", "c2", "extra", "c3"},
		},
		"repeats kept once": {
			in:   []Link{{URL: "c2", Number: "2"}, {URL: "c1", Number: "1"}, {URL: "c2", Number: "2"}},
			want: []string{"c1", "c2"},
		},
		"empty": {in: nil, want: nil},
	} {
		if got := urls(ReadingOrder(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
