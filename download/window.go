package download

import (
	"container/heap"
	"context"
	"fmt"
	"os"
	"sync"
)

// Window is one job's window of pages in flight. Every batch added to it
// shares Options.Concurrency slots, handed out in order (batch added first,
// then page index): the next chapter's pages start as soon as the current
// one has nothing left to start, so a job of many chapters waits for one
// slow tail rather than one per chapter, and a slow page holds up only its
// own slot.
//
// Pages done ahead of the first unfinished one wait on disk for the
// writer (the reorder buffer); once they add up to Options.ReorderBytes,
// only that first page may start, so a stuck page cannot make the job's
// disk use grow without bound.
type Window struct {
	f      *Fetcher
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool

	mu      sync.Mutex
	queue   itemQueue
	running int
	flights []*Flight
	// The first page not yet done: flights[ff].pages[fp]. ahead is the
	// bytes of done pages past it.
	ff, fp int
	ahead  int64
	popped chan struct{} // closed and replaced when queued pages start
}

// Flight is a batch being fetched by a Window.
type Flight struct {
	w     *Window
	seq   int
	batch Batch
	res   *Result
	track *pageTrack
	rep   *reporter

	progMu sync.Mutex // serialises Progress calls, in order of events

	// Under w.mu:
	p       Progress
	pending int    // pages of the current round not yet done
	running int    // pages of this flight in flight
	done    []bool // first round over for page i (for the reorder buffer)
	size    []int64
	ok      []bool // page i is on disk: final
	state   int    // fetching, ending (Refresh round), finished
	retried bool   // the Refresh round has begun
	err     error
	changed chan struct{} // closed and replaced on every page event

	finished chan struct{}
}

const (
	flightFetching = iota
	flightEnding
	flightFinished
)

type item struct {
	fl    *Flight
	i     int
	page  Page
	retry bool // the Refresh round
}

// itemQueue orders pages by batch, then index: a heap, since a batch's
// Refresh round puts earlier pages back behind later batches' ones.
type itemQueue []item

func (q itemQueue) Len() int { return len(q) }
func (q itemQueue) Less(a, b int) bool {
	if q[a].fl.seq != q[b].fl.seq {
		return q[a].fl.seq < q[b].fl.seq
	}
	return q[a].i < q[b].i
}
func (q itemQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *itemQueue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *itemQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// NewWindow starts a window for one job; its pages stop when ctx ends or
// Close is called. Add batches in reading order.
func (f *Fetcher) NewWindow(ctx context.Context) *Window {
	ctx, cancel := context.WithCancel(ctx)
	w := &Window{f: f, ctx: ctx, cancel: cancel, popped: make(chan struct{})}
	w.stop = context.AfterFunc(ctx, w.cancelled)
	return w
}

// Close cancels what is still in flight and waits for every flight to end
// (no temp file is left behind after it). Flights that ended keep their
// results.
func (w *Window) Close() {
	w.cancel()
	w.mu.Lock()
	fls := append([]*Flight(nil), w.flights...)
	w.mu.Unlock()
	for _, fl := range fls {
		<-fl.finished
	}
}

// Add queues batch behind the batches added before; its pages start as
// slots free up. An error means the batch cannot start (too many pages, no
// directory, window closed); nothing is queued then.
func (w *Window) Add(batch Batch) (*Flight, error) {
	if n := len(batch.Pages); n > w.f.opts.MaxPages {
		return nil, fmt.Errorf("chapter has %d pages, more than the limit of %d", n, w.f.opts.MaxPages)
	}
	if st, err := os.Stat(batch.Dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", batch.Dir)
	}
	if err := w.ctx.Err(); err != nil {
		return nil, err
	}
	n := len(batch.Pages)
	fl := &Flight{
		w: w, batch: batch,
		res:      &Result{Pages: make([]PageResult, n)},
		track:    newPageTrack(w.f.opts.Observer, n),
		p:        Progress{Total: n},
		pending:  n,
		done:     make([]bool, n),
		size:     make([]int64, n),
		ok:       make([]bool, n),
		changed:  make(chan struct{}),
		finished: make(chan struct{}),
	}
	for i := range fl.res.Pages {
		fl.res.Pages[i].Index = i
		fl.res.Pages[i].Err = &PageError{URL: batch.Pages[i].URL, Reason: "not fetched"}
	}
	if batch.Report != nil {
		// Report runs on a goroutine of its own, one call at a time.
		fl.rep = newReporter(batch.Report)
		fl.batch.Report = fl.rep.add
	}
	if batch.Progress != nil {
		batch.Progress(fl.p)
	}
	w.mu.Lock()
	if w.ctx.Err() != nil {
		w.mu.Unlock()
		fl.finish(w.ctx.Err())
		return nil, w.ctx.Err()
	}
	fl.seq = len(w.flights)
	w.flights = append(w.flights, fl)
	for i, pg := range batch.Pages {
		heap.Push(&w.queue, item{fl: fl, i: i, page: pg})
	}
	w.advanceLocked()
	w.dispatchLocked()
	w.mu.Unlock()
	if n == 0 {
		fl.endRound()
	}
	return fl, nil
}

// allowed: the reorder buffer has room, or it is the page the writer waits
// for (or a page of a Refresh round, which is behind the writer anyway).
func (w *Window) allowed(it item) bool {
	if it.retry || w.ahead < w.f.opts.ReorderBytes {
		return true
	}
	return it.fl.seq == w.ff && it.i == w.fp
}

func (w *Window) dispatchLocked() {
	for w.running < w.f.opts.Concurrency && len(w.queue) > 0 && w.ctx.Err() == nil {
		it := w.queue[0]
		if !w.allowed(it) {
			return
		}
		heap.Pop(&w.queue)
		w.running++
		it.fl.running++
		go w.run(it)
		close(w.popped)
		w.popped = make(chan struct{})
	}
}

// WaitQueue blocks until fewer than n pages wait for a slot (or ctx or the
// window ends): the time to add the next batch, so that the window never
// runs dry at a batch boundary while later page lists are loaded only
// shortly before their turn.
func (w *Window) WaitQueue(ctx context.Context, n int) error {
	for {
		w.mu.Lock()
		if len(w.queue) < n {
			w.mu.Unlock()
			return nil
		}
		ch := w.popped
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
	}
}

// advanceLocked moves the first-unfinished mark past done pages.
func (w *Window) advanceLocked() {
	for w.ff < len(w.flights) {
		fl := w.flights[w.ff]
		for w.fp < len(fl.done) && fl.done[w.fp] {
			w.ahead -= fl.size[w.fp]
			w.fp++
		}
		if w.fp < len(fl.done) {
			return
		}
		w.ff, w.fp = w.ff+1, 0
	}
}

func (w *Window) run(it item) {
	fl := it.fl
	r := w.f.page(w.ctx, fl.batch, it.i, it.page, fl.track)

	fl.progMu.Lock()
	w.mu.Lock()
	w.running--
	fl.running--
	cancelled := w.ctx.Err() != nil
	var snap Progress
	if !cancelled {
		fl.res.Pages[r.Index] = r
		if it.retry {
			fl.p.Failed--
		}
		if r.Err == nil {
			fl.p.Done++
			fl.p.Bytes += r.Bytes
			fl.ok[r.Index] = true
		} else {
			fl.p.Failed++
		}
		last := r
		snap = fl.p
		snap.Last = &last
		fl.pending--
		if !it.retry {
			fl.done[r.Index] = true
			fl.size[r.Index] = r.Bytes
			w.ahead += r.Bytes
			w.advanceLocked()
		}
	}
	end := fl.state == flightFetching && fl.running == 0 && (cancelled || fl.pending == 0)
	if end {
		fl.state = flightEnding
	}
	w.dispatchLocked()
	fl.notifyLocked()
	w.mu.Unlock()
	if !cancelled && fl.batch.Progress != nil {
		fl.batch.Progress(snap)
	}
	fl.progMu.Unlock()
	switch {
	case end && cancelled:
		fl.finish(w.ctx.Err())
	case end:
		fl.endRound()
	}
}

// cancelled drops the queued pages and ends the flights with nothing in
// flight; the others end when their last page returns.
func (w *Window) cancelled() {
	w.mu.Lock()
	w.queue = nil
	var idle []*Flight
	for _, fl := range w.flights {
		if fl.state == flightFetching && fl.running == 0 {
			fl.state = flightEnding
			idle = append(idle, fl)
		}
	}
	w.mu.Unlock()
	for _, fl := range idle {
		fl.finish(w.ctx.Err())
	}
}

// endRound runs when every page of the flight has had its try: failures
// that new URLs may cure get a Refresh round, then the flight ends.
func (fl *Flight) endRound() {
	w := fl.w
	b := fl.batch
	w.mu.Lock()
	retried := fl.retried
	w.mu.Unlock()
	if b.Refresh != nil && !retried {
		var again []int
		for i, r := range fl.res.Pages {
			if refreshable(r.Err) {
				again = append(again, i)
			}
		}
		if len(again) > 0 {
			// New URLs (a new image node) may succeed where the old ones
			// failed for network reasons; a 404 or a non-image will not.
			fresh, err := b.Refresh(w.ctx)
			if w.ctx.Err() != nil {
				fl.finish(w.ctx.Err())
				return
			}
			if err == nil && len(fresh) == len(b.Pages) {
				w.mu.Lock()
				if w.ctx.Err() != nil {
					w.mu.Unlock()
					fl.finish(w.ctx.Err())
					return
				}
				fl.state = flightFetching
				fl.pending = len(again)
				fl.retried = true
				for _, i := range again {
					heap.Push(&w.queue, item{fl: fl, i: i, page: fresh[i], retry: true})
				}
				w.dispatchLocked()
				w.mu.Unlock()
				return
			}
		}
	}
	fl.finish(nil)
}

// finish tells the Observer of the failed pages, delivers the queued
// reports, and wakes Wait and Page.
func (fl *Flight) finish(err error) {
	fl.track.failures(fl.res)
	fl.res.Bytes, fl.res.Failed = 0, 0
	for _, r := range fl.res.Pages {
		fl.res.Bytes += r.Bytes
		if r.Err != nil {
			fl.res.Failed++
		}
	}
	if fl.rep != nil {
		fl.rep.close()
	}
	w := fl.w
	w.mu.Lock()
	fl.state = flightFinished
	fl.err = err
	fl.notifyLocked()
	w.mu.Unlock()
	close(fl.finished)
}

func (fl *Flight) notifyLocked() {
	close(fl.changed)
	fl.changed = make(chan struct{})
}

// Wait blocks until every page of the flight is done or failed for good
// (after the Refresh round), or the window's context ends (then its error,
// with the partial Result).
func (fl *Flight) Wait() (*Result, error) {
	<-fl.finished
	return fl.res, fl.err
}

// Page blocks until page i's outcome is final: on disk, or failed for good
// once the flight has ended. It lets a writer take pages in order while
// later ones are still downloading. The error is the flight's (the window
// was cancelled) or ctx's.
func (fl *Flight) Page(ctx context.Context, i int) (PageResult, error) {
	w := fl.w
	for {
		w.mu.Lock()
		switch {
		case fl.ok[i]:
			r := fl.res.Pages[i]
			w.mu.Unlock()
			return r, nil
		case fl.state == flightFinished:
			r, err := fl.res.Pages[i], fl.err
			w.mu.Unlock()
			return r, err
		}
		ch := fl.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return PageResult{Index: i}, ctx.Err()
		}
	}
}
