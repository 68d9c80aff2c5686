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

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"10485760": 10 << 20, "10MiB": 10 << 20, "10 MiB": 10 << 20, "10M": 10 << 20, "10mb": 10 << 20,
		"1.5G": 3 << 29, "512k": 512 << 10, "8KiB": 8 << 10, "100B": 100, "0": 0,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ten", "-5M", "5X", "1e30G", "MiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}
