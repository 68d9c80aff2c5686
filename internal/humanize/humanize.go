package humanize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bytes formats n with binary units: "512 B", "1.5 KiB", "23.4 MiB",
// "2.5 GiB". Whole values drop the decimal ("64 KiB", "10 MiB") so limits
// read as they are configured.
func Bytes(n int64) string {
	units := []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	for _, u := range units {
		if n >= 1<<u.shift {
			if n%(1<<u.shift) == 0 {
				return fmt.Sprintf("%s%d %s", neg, n>>u.shift, u.name)
			}
			return fmt.Sprintf("%s%.1f %s", neg, float64(n)/float64(int64(1)<<u.shift), u.name)
		}
	}
	return fmt.Sprintf("%s%d B", neg, n)
}

// ParseBytes reads a size as people write it: "10485760", "10MiB",
// "10 MiB", "10M", "1.5G", "512k" (units are binary, as Bytes prints them).
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			shift = 10
		case 'm':
			shift = 20
		case 'g':
			shift = 30
		}
		if shift > 0 {
			t = strings.TrimSpace(t[:len(t)-1])
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || v*float64(int64(1)<<shift) > math.MaxInt64/2 {
		return 0, fmt.Errorf("not a size: %q (want e.g. 10485760, 10MiB, 512k)", s)
	}
	return int64(v * float64(int64(1)<<shift)), nil
}
