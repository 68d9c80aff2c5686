package heavytail

import (
	"testing"
	"time"
)

func TestBound(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		lat  []time.Duration
		w    int
		want time.Duration
	}{
		{ms(10, 10, 10, 10), 1, 40 * time.Millisecond},
		{ms(10, 10, 10, 10), 2, 20 * time.Millisecond},
		// The slow first page holds one slot; the others share the second.
		{ms(100, 10, 10, 10), 2, 100 * time.Millisecond},
		{ms(10, 100, 10, 10, 10), 2, 100 * time.Millisecond},
		{nil, 4, 0},
	} {
		if got := Bound(c.lat, c.w); got != c.want {
			t.Errorf("Bound(%v, %d) = %v, want %v", c.lat, c.w, got, c.want)
		}
	}
}
