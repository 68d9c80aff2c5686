package pdf

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/mangabot/mangabot/internal/humanize"
)

// DefaultDecodeMemory is the decode budget when none is configured: enough
// for two or three large pages decoded at once (a 4000x6000 RGBA page takes
// 92 MiB), small enough for a 512 MiB machine. See bench/bigpng.
const DefaultDecodeMemory = 256 << 20

// Budget bounds the bytes that decoded pages hold at once, summed over
// every job that shares it. A page's cost is known from its header before
// anything is decoded; a page that fits waits for room, a bigger PNG is
// streamed row by row, anything else bigger becomes a placeholder.
type Budget struct {
	size int64
	sem  *semaphore.Weighted
}

// NewBudget returns a budget of size bytes (DefaultDecodeMemory when 0 or
// less). Share one per process: pass it in every job's Options.Budget.
func NewBudget(size int64) *Budget {
	if size <= 0 {
		size = DefaultDecodeMemory
	}
	return &Budget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size is the budget in bytes.
func (b *Budget) Size() int64 { return b.size }

// processBudget is used by jobs whose Options.Budget is nil, so that even
// then all jobs of the process share one bound.
var processBudget = sync.OnceValue(func() *Budget { return NewBudget(DefaultDecodeMemory) })

// gcAfter: releasing at least this much runs a collection, so that the
// next page reuses the freed memory instead of growing the heap to twice
// the budget before the collector's own pacing catches up.
const gcAfter = 16 << 20

// Take reserves n bytes for another decoder of the process (fit's
// re-encoding), so that it shares this bound with the writers; see take.
func (b *Budget) Take(ctx context.Context, n int64) (func(), error) { return b.take(ctx, n) }

// take reserves n bytes, waiting for other pages to finish, and returns
// the function that gives them back. n must fit in the budget.
func (b *Budget) take(ctx context.Context, n int64) (func(), error) {
	if n > b.size {
		return nil, fmt.Errorf("pdf: reservation of %d bytes exceeds the budget of %d", n, b.size)
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.sem.Release(n)
			if n >= gcAfter {
				runtime.GC()
			}
		})
	}, nil
}

// tooBig is the placeholder reason for a page that cannot be handled
// within the budget.
func (b *Budget) tooBig(w, h int, need int64, how string) error {
	return skipf("image too large to %s: %dx%d needs %s, more than the decode memory of %s ([pdf] decode_memory)",
		how, w, h, humanize.Bytes(need), humanize.Bytes(b.size))
}
