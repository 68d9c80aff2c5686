// Package heavytail is the latency model of the benchmark servers: fixed by
// seed and page, lognormal with a 40 ms median, and about 1 request in 20
// taking 400–800 ms, as image CDNs behave.
package heavytail

import (
	"math"
	"math/rand/v2"
	"time"
)

// Latency of page i.
func Latency(seed uint64, i int) time.Duration {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	if r.Float64() < 0.05 {
		return time.Duration(400+r.Float64()*400) * time.Millisecond
	}
	ms := 40 * math.Exp(0.5*r.NormFloat64())
	return time.Duration(min(ms, 300) * float64(time.Millisecond))
}

// Bound is the latency bound of fetching pages with the given server
// latencies through a window of w, pages started in order, each as soon
// as a slot is free: no client using that window can finish sooner.
func Bound(lat []time.Duration, w int) time.Duration {
	slots := make([]time.Duration, max(w, 1)) // when each slot frees up
	var end time.Duration
	for _, d := range lat {
		k := 0
		for j := range slots {
			if slots[j] < slots[k] {
				k = j
			}
		}
		slots[k] += d
		end = max(end, slots[k])
	}
	return end
}
