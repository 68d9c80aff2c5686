package cluster

// Observe has f told of each job event of this gateway, for metrics:
// published (queued for the workers), then one of delivered (its files
// taken to the bot), failed (the worker's error, or out of deliveries),
// cancelled; gave_up counts the jobs this gateway failed because every
// delivery's worker stopped (advisory.go).
func (g *Gateway) Observe(f func(event string)) {
	g.mu.Lock()
	g.observe = f
	g.mu.Unlock()
}

func (g *Gateway) event(e string) {
	g.mu.Lock()
	f := g.observe
	g.mu.Unlock()
	if f != nil {
		f(e)
	}
}
