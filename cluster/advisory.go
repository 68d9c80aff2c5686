package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The backstop for jobs whose every delivery was lost. The consumer
// delivers a job at most max_attempts+1 times, and the worker that gets
// the last delivery fails the job with a message. If that worker dies
// too, nobody would: the server delivers the message no more and the
// record would stay "running", the user waiting forever. The server then
// publishes a max-deliveries advisory
// ($JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>, JSON
// with stream_seq and deliveries). A stream, P_GIVEUPS, keeps those
// advisories, so one sent while no gateway runs (a restart) is not lost,
// and the gateways share a durable consumer of it: one of them reads the
// job message by its sequence, fails the job (revision-checked, so a
// worker's own give-up or a late finish writes nothing twice), deletes
// the message and drops its stored pages.

// maxDeliveries is the advisory's payload (the fields used;
// io.nats.jetstream.advisory.v1.max_deliver).
type maxDeliveries struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// gaveUpError is what the user reads when every attempt's worker died.
func gaveUpError(attempts int) string {
	if attempts == 1 {
		return "the job was tried once and its worker stopped before it finished; giving up"
	}
	return fmt.Sprintf("the job was tried %d times and each time its worker stopped before it finished; giving up", attempts)
}

// setupGiveUps makes the advisory stream and the gateways' consumer.
func (c *Conn) setupGiveUps(ctx context.Context, jobs, workers string) error {
	var err error
	if c.jobs, err = c.js.Stream(ctx, jobs); err != nil {
		return fmt.Errorf("jobs stream: %w", err)
	}
	name := strings.ToUpper(c.o.Prefix) + "_GIVEUPS"
	if _, err := ensureStream(ctx, c.js, jetstream.StreamConfig{
		Name:     name,
		Subjects: []string{"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + jobs + "." + workers},
		// Handled advisories go; unhandled ones (no gateway for a week)
		// are of no more use: the job records expire too.
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour,
	}); err != nil {
		return fmt.Errorf("give-up stream: %w", err)
	}
	if c.giveUps, err = c.js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
		Durable: c.o.Prefix + "-gateways", AckPolicy: jetstream.AckExplicitPolicy, AckWait: c.o.AckWait,
	}); err != nil {
		return fmt.Errorf("give-up consumer: %w", err)
	}
	return nil
}

// watchGiveUps starts taking advisories for this gateway; it ends with
// the connection.
func (g *Gateway) watchGiveUps() {
	if _, err := g.c.giveUps.Consume(func(m jetstream.Msg) {
		ctx, stop := context.WithTimeout(context.Background(), g.c.o.AckWait)
		defer stop()
		if err := g.giveUp(ctx, m.Data()); err != nil {
			g.c.o.Logger.Warn("fail a job out of deliveries", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		_ = m.Ack()
	}); err != nil {
		g.c.o.Logger.Error("watch max-deliveries advisories: jobs whose every worker died will not be failed", "err", err)
	}
}

// giveUp fails the job of one max-deliveries advisory. An error means
// try again (NATS trouble); anything already settled is not an error.
func (g *Gateway) giveUp(ctx context.Context, data []byte) error {
	c := g.c
	var adv maxDeliveries
	if err := json.Unmarshal(data, &adv); err != nil || adv.StreamSeq == 0 {
		c.o.Logger.Warn("dropping a malformed max-deliveries advisory", "err", err)
		return nil
	}
	raw, err := c.jobs.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // acked or removed meanwhile: the job ended
	}
	if err != nil {
		return fmt.Errorf("read job message %d: %w", adv.StreamSeq, err)
	}
	var jm jobMsg
	if err := json.Unmarshal(raw.Data, &jm); err != nil || jm.ID == "" {
		c.o.Logger.Warn("deleting a malformed job message", "seq", adv.StreamSeq, "err", err)
		return c.deleteJobMsg(ctx, adv.StreamSeq)
	}
	// The last delivery is the one that fails the job, not an attempt.
	attempts := min(int(adv.Deliveries), c.o.MaxAttempts)
	_, ok, err := c.transition(ctx, jm.ID, func(r *Record) bool {
		if r.final() {
			return false
		}
		r.State, r.Error = Failed, gaveUpError(attempts)
		return true
	})
	if err != nil && !errors.Is(err, errNoRecord) {
		return err
	}
	if err := c.deleteJobMsg(ctx, adv.StreamSeq); err != nil {
		return err
	}
	if ok {
		c.o.Logger.Warn("job failed: every delivery's worker stopped", "job", jm.ID, "deliveries", adv.Deliveries)
		c.dropPages(jm.ID)
		g.event("gave_up")
	}
	return nil
}

// deleteJobMsg removes a job message no worker will finish.
func (c *Conn) deleteJobMsg(ctx context.Context, seq uint64) error {
	if err := c.jobs.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete job message %d: %w", seq, err)
	}
	return nil
}
