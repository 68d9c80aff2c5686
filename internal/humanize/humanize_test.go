package humanize

import "testing"

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{10 << 20, "10 MiB"},
		{23*(1<<20) + 400<<10, "23.4 MiB"},
		{3 << 30, "3 GiB"},
		{5*(1<<30) + 1<<29, "5.5 GiB"},
		{-2048, "-2 KiB"},
		{64 << 10, "64 KiB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
