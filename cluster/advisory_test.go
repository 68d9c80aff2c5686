package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/cluster"
)

const gaveUp = "the job was tried once and its worker stopped before it finished; giving up"

// With max_attempts 1 a job is delivered twice: to worker a, which
// stores pages and dies, then to a worker that dies before doing
// anything (a raw puller that never acks). Nobody is left to fail the
// job; the server's max-deliveries advisory reaches the gateways, one of
// which fails it: the user gets the give-up message, the job message and
// the stored pages are gone, and of two gateways exactly one acted.
func TestMaxDeliveriesAdvisory(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 6, 0)
	release := s.hold(3)
	defer release()
	c := connectAttempts(t, url, "gateway", 1)
	var mu sync.Mutex
	events := map[string]int{}
	count := func(e string) { mu.Lock(); events[e]++; mu.Unlock() }
	g := cluster.NewGateway(c)
	g.Observe(count)
	cluster.NewGateway(connectAttempts(t, url, "gateway2", 1)).Observe(count)
	errc := make(chan error, 1)
	go func() {
		_, err := runJob(t, context.Background(), g, newEnv(t, 1000, 50, nil), "lost", s.chapter(1), nil)
		errc <- err
	}()
	js := loseDeliveries(t, url, c, "lost")
	// The server notices an exhausted message when a worker asks for
	// work: one lives on, and gets nothing.
	b := startWorkerOn(t, connectAttempts(t, url, "b", 1), "b", newEnv(t, 1000, 50, nil), 1)
	select {
	case err := <-errc:
		if err == nil || err.Error() != gaveUp {
			t.Fatalf("RunJob: %v, want %q", err, gaveUp)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunJob still waits 30s after the last delivery")
	}
	checkGivenUp(t, c, js, "lost")
	time.Sleep(200 * time.Millisecond) // a second give-up would show now
	mu.Lock()
	defer mu.Unlock()
	if events["gave_up"] != 1 || events["published"] != 1 || events["failed"] != 1 {
		t.Errorf("gateway events %v; want published, gave_up and failed once", events)
	}
	if b.count("gave_up")+b.count("done")+b.count("duplicate") != 0 {
		t.Error("worker b got the job")
	}
}

// An advisory sent while no gateway runs waits in its stream: the
// gateway that starts next fails the job, and the job the bot resumes
// there ends with the message.
func TestMaxDeliveriesWhileGatewayDown(t *testing.T) {
	url := startNATS(t)
	s := newSite(t, 6, 0)
	release := s.hold(3)
	defer release()
	c1, err := cluster.Connect(context.Background(), cluster.Options{URL: url, Name: "gateway1",
		AckWait: 1500 * time.Millisecond, MaxAttempts: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := runJob(t, ctx, cluster.NewGateway(c1), newEnv(t, 1000, 50, nil), "orphan", s.chapter(1), nil)
		errc <- err
	}()
	inspect := connectAttempts(t, url, "inspect", 1)
	js := loseDeliveries(t, url, inspect, "orphan")
	c1.Close() // the gateway dies
	cancel()
	<-errc
	startWorkerOn(t, connectAttempts(t, url, "b", 1), "b", newEnv(t, 1000, 50, nil), 1)
	eventually(t, "the advisory to be kept", func() bool { return streamMsgs(t, js, "MANGABOT_GIVEUPS") == 1 })
	if r, err := inspect.Job(context.Background(), "orphan"); err != nil || r.State != cluster.Running {
		t.Fatalf("record %+v, %v; want still running", r, err)
	}
	g := cluster.NewGateway(connectAttempts(t, url, "gateway2", 1))
	_, err = runJob(t, context.Background(), g, newEnv(t, 1000, 50, nil), "orphan", s.chapter(1), nil)
	if err == nil || err.Error() != gaveUp {
		t.Fatalf("resumed RunJob: %v, want %q", err, gaveUp)
	}
	checkGivenUp(t, inspect, js, "orphan")
}

// loseDeliveries lets job id's deliveries (max_attempts 1: two) go to
// workers that die: worker a after storing 3 pages, then a raw puller
// that never acks. It returns a JetStream handle for inspection.
func loseDeliveries(t *testing.T, url string, c *cluster.Conn, id string) jetstream.JetStream {
	t.Helper()
	a := startWorkerOn(t, connectAttempts(t, url, "a", 1), "a", newEnv(t, 1000, 50, nil), 1)
	eventually(t, "worker a to store 3 pages", func() bool {
		n, _ := c.StoredPages(context.Background(), id)
		return n == 3
	})
	a.kill()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(context.Background(), "MANGABOT_JOBS", "mangabot-workers")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("the second delivery: %v", err)
	}
	if md, err := msg.Metadata(); err != nil || md.NumDelivered != 2 {
		t.Fatalf("delivery metadata %+v, %v; want the second delivery", md, err)
	}
	return js
}

// checkGivenUp: the job's record failed, its message, its advisory, its
// stored pages and files gone.
func checkGivenUp(t *testing.T, c *cluster.Conn, js jetstream.JetStream, id string) {
	t.Helper()
	if r, err := c.Job(context.Background(), id); err != nil || r.State != cluster.Failed || r.Error != gaveUp {
		t.Fatalf("record %+v, %v; want failed with the give-up message", r, err)
	}
	for _, name := range []string{"MANGABOT_JOBS", "MANGABOT_GIVEUPS"} {
		eventually(t, name+" to empty", func() bool { return streamMsgs(t, js, name) == 0 })
	}
	eventually(t, "stored pages and files to go", func() bool {
		n, _ := c.StoredPages(context.Background(), id)
		return n == 0 && objectCount(t, c) == 0
	})
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
