package cluster_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/store"
	"github.com/mangabot/mangabot/store/storetest"
)

// connStore is a Store that owns its connection, so closing it is a
// restart of the process that held it.
type connStore struct {
	*cluster.Store
	conn *cluster.Conn
}

func (s connStore) Close() error { s.conn.Close(); return nil }

// The KV store keeps the same contract as the bbolt file; each test has
// its own prefix (its own buckets) on one server, and each open is a new
// connection.
func TestStoreContract(t *testing.T) {
	url := startNATS(t)
	var n atomic.Int32
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		prefix := fmt.Sprintf("st%d", n.Add(1))
		return func(t *testing.T, now func() time.Time) store.Store {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cluster.Connect(ctx, cluster.Options{URL: url, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Store(ctx, now)
			if err != nil {
				c.Close()
				t.Fatal(err)
			}
			return connStore{s, c}
		}
	})
}

// BenchmarkStorePut: one job update (the bot saves a running job about
// once a second, and at each state change) in KV on loopback; compare
// store's BenchmarkBoltPut.
func BenchmarkStorePut(b *testing.B) {
	url := natstest.Start(b, "", -1).ClientURL()
	c, err := cluster.Connect(context.Background(), cluster.Options{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := c.Store(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	j := storetest.FullJob("bench")
	for b.Loop() {
		j.PagesDone++
		if _, err := s.Put(j); err != nil {
			b.Fatal(err)
		}
	}
}
