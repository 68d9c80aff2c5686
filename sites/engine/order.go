package engine

import (
	"sort"
	"strconv"
)

// Link is one chapter of a series' chapter list.
type Link struct {
	URL    string // absolute
	Title  string // as the list shows it, whitespace collapsed
	Number string // chapter number ("12", "2.5"); "" when unknown
	Volume string // "" when unknown
}

// ReadingOrder returns the chapters first to last whatever order the site
// lists them in (Madara and MangaThemesia list the newest first; FoolSlide
// lists by volume then chapter). Links repeated in the list are kept once.
//
// The list is reversed when its numbered chapters mostly go down; then the
// numbered chapters are sorted by number among themselves (a "2.5" added
// after "10" moves between 2 and 3), and chapters without a number keep
// their place relative to the list.
func ReadingOrder(links []Link) []Link {
	seen := map[string]bool{}
	out := make([]Link, 0, len(links))
	for _, l := range links {
		if l.URL == "" || seen[l.URL] {
			continue
		}
		seen[l.URL] = true
		out = append(out, l)
	}
	var slots []int
	var nums []float64
	for i, l := range out {
		if f, err := strconv.ParseFloat(l.Number, 64); err == nil && l.Number != "" {
			slots = append(slots, i)
			nums = append(nums, f)
		}
	}
	up, down := 0, 0
	for i := 1; i < len(nums); i++ {
		switch {
		case nums[i] > nums[i-1]:
			up++
		case nums[i] < nums[i-1]:
			down++
		}
	}
	if down > up {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		for i := range slots {
			slots[i] = len(out) - 1 - slots[i]
		}
		for i, j := 0, len(slots)-1; i < j; i, j = i+1, j-1 {
			slots[i], slots[j] = slots[j], slots[i]
			nums[i], nums[j] = nums[j], nums[i]
		}
	}
	numbered := make([]Link, len(slots))
	for i, s := range slots {
		numbered[i] = out[s]
	}
	idx := make([]int, len(slots))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return nums[idx[a]] < nums[idx[b]] })
	for i, s := range slots {
		out[s] = numbered[idx[i]]
	}
	return out
}
