package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// bucket is a host's shared token bucket as stored in the limits bucket.
type bucket struct {
	Tokens float64 `json:"t"`
	At     int64   `json:"at"` // unix nanos of Tokens
}

// HostGate returns the per-host limit shared by all workers
// (pipeline.Options.HostGate): one token bucket per host in a KV bucket,
// taken with revision-checked writes, so the sum of every worker's
// requests to a host stays within its rate and burst. It runs after each
// worker's own limiter, which it never loosens.
//
// Cost: one KV read and one write per request (two round trips to NATS,
// well under a millisecond on a LAN), against requests paced at a few per
// second per host. Clocks of workers are assumed in sync to well within
// 1/rate (NTP); a clock behind the last writer's counts no refill.
func (c *Conn) HostGate() func(ctx context.Context, host string, rate float64, burst int) error {
	return func(ctx context.Context, host string, rate float64, burst int) error {
		if rate <= 0 {
			return nil
		}
		if burst < 1 {
			burst = 1
		}
		key := token(host)
		for {
			e, err := c.limits.Get(ctx, key)
			var b bucket
			var rev uint64
			now := time.Now()
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
				b = bucket{Tokens: float64(burst), At: now.UnixNano()}
			case err != nil:
				return err
			default:
				rev = e.Revision()
				if err := json.Unmarshal(e.Value(), &b); err != nil {
					b = bucket{Tokens: float64(burst), At: now.UnixNano()}
				}
			}
			elapsed := now.Sub(time.Unix(0, b.At)).Seconds()
			at := now.UnixNano()
			if elapsed < 0 {
				elapsed, at = 0, b.At
			}
			tokens := min(float64(burst), b.Tokens+elapsed*rate)
			if tokens < 1 {
				wait := time.Duration((1 - tokens) / rate * float64(time.Second))
				select {
				case <-time.After(wait):
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			v, _ := json.Marshal(bucket{Tokens: tokens - 1, At: at})
			if rev == 0 {
				_, err = c.limits.Create(ctx, key, v)
			} else {
				_, err = c.limits.Update(ctx, key, v, rev)
			}
			if err == nil {
				return nil
			}
			if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
				return err
			}
			// Another worker took a token first: read again.
		}
	}
}
