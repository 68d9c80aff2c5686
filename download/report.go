package download

import (
	"sync"
)

// reporter hands FetchReports to a job's Report from one goroutine of its
// own: calls are serialised, a slow Report never holds a download (the
// queue does not block), and no lock is held while Report runs.
type reporter struct {
	fn   func(FetchReport)
	mu   sync.Mutex
	q    []FetchReport
	wake chan struct{}
	done chan struct{}
}

func newReporter(fn func(FetchReport)) *reporter {
	r := &reporter{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *reporter) add(rep FetchReport) {
	r.mu.Lock()
	r.q = append(r.q, rep)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) loop() {
	defer close(r.done)
	for range r.wake {
		for {
			r.mu.Lock()
			q := r.q
			r.q = nil
			r.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, rep := range q {
				r.fn(rep)
			}
		}
	}
}

// close delivers what is queued and waits for it, so that no Report call
// happens after Fetch returns.
func (r *reporter) close() {
	close(r.wake)
	<-r.done
}
