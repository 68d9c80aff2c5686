package humanize

import "fmt"

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
