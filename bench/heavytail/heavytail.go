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
