package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/pipeline"
)

// Simulated site: 8 pages per chapter, each image answered after 20ms.
const (
	benchPages   = 8
	benchLatency = 20 * time.Millisecond
)

// BenchmarkJobLatency is one job at a time, end to end (resolve, pages,
// PDF, files back): in this process (local, what bot run does) and
// through NATS on one worker (cluster). The difference is what the
// cluster adds per job.
func BenchmarkJobLatency(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		s := newSite(b, benchPages, benchLatency)
		env := newEnv(b, 1000, 100, nil)
		for i := 0; b.Loop(); i++ {
			plan, err := env.Resolve(context.Background(), pipeline.Request{URL: s.chapter(i)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := env.Run(context.Background(), plan, pipeline.RunOptions{Dir: b.TempDir()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cluster", func(b *testing.B) {
		url := startNATS(b)
		s := newSite(b, benchPages, benchLatency)
		c := connect(b, url, "w0")
		startWorkerOn(b, c, "w0", newEnv(b, 1000, 100, c.HostGate()), 1)
		g := cluster.NewGateway(connect(b, url, "gateway"))
		genv := newEnv(b, 1000, 100, nil)
		for i := 0; b.Loop(); i++ {
			if _, err := runJob(b, context.Background(), g, genv, fmt.Sprint("lat", i), s.chapter(i), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput runs 16 jobs at once on 1, 2 and 4 workers (one
// job at a time each, shared host limits on) and reports jobs per
// minute.
func BenchmarkThroughput(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			url := startNATS(b)
			s := newSite(b, benchPages, benchLatency)
			for i := range n {
				c := connect(b, url, fmt.Sprint("w", i))
				startWorkerOn(b, c, fmt.Sprint("w", i), newEnv(b, 1000, 100, c.HostGate()), 1)
			}
			g := cluster.NewGateway(connect(b, url, "gateway"))
			genv := newEnv(b, 1000, 100, nil)
			const perOp = 16
			jobs := 0
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				var wg sync.WaitGroup
				for j := range perOp {
					wg.Add(1)
					go func() {
						defer wg.Done()
						k := i*perOp + j
						if _, err := runJob(b, context.Background(), g, genv, fmt.Sprint("tp", k), s.chapter(k), nil); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				jobs += perOp
			}
			b.ReportMetric(float64(jobs)/time.Since(start).Minutes(), "jobs/min")
		})
	}
}
