package follow_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/pipeline"
	_ "github.com/mangabot/mangabot/sites/all"
	"github.com/mangabot/mangabot/sites/mangadex"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
	"github.com/mangabot/mangabot/store"
)

// recorder is a Deliverer that keeps what it was given; err, when set,
// is returned instead.
type recorder struct {
	mu   sync.Mutex
	got  []store.Found
	err  error
	hold chan struct{} // non-nil: Deliver waits for it or its ctx
}

func (r *recorder) Deliver(ctx context.Context, _ store.Follow, c store.Found) (string, error) {
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", r.err
	}
	r.got = append(r.got, c)
	return "m" + c.Key, nil
}

func (r *recorder) numbers() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ns []string
	for _, c := range r.got {
		ns = append(ns, c.Number)
	}
	return strings.Join(ns, ",")
}

type fixture struct {
	api *mdtest.API
	st  store.Store
	p   *follow.Poller
	d   *recorder
	cfg *config.Config
}

func newFixture(t *testing.T) *fixture {
	api := mdtest.New(t, mdtest.Options{})
	cfg := config.Default()
	cfg.Download.AllowNetworks = []string{"127.0.0.0/8"}
	cfg.Download.Retries = 0
	o := cfg.Sites.Options["mangadex"].(*mangadex.Options)
	o.APIURL, o.ReportURL = api.URL, ""
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &recorder{}
	cfg.Follows.Jitter = config.Duration{}
	p := follow.New(follow.Options{Store: st, Env: env, Config: cfg.Follows, Deliver: d, Log: slog.New(slog.DiscardHandler)})
	return &fixture{api, st, p, d, cfg}
}

func TestBaselineThenNewOnce(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	f, err := fx.p.Add(ctx, mdtest.TitleURL("https://mangadex.org"), store.Follow{Channel: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "The Library Beyond the Clouds" || f.Site != "mangadex" || f.Deliver != "announce" || !strings.Contains(f.Last, "Ch. 5") {
		t.Errorf("follow %+v", f)
	}
	if got, _ := fx.p.Round(ctx, true); len(got) != 0 {
		t.Fatalf("baseline delivered %d", len(got))
	}
	fx.api.Add("7", time.Now().Add(-time.Hour))
	// The same chapter uploaded again by someone else: not new.
	fx.api.Add("7", time.Now().Add(-time.Minute))
	fx.api.Add("8", time.Now().Add(-time.Minute))
	if _, err := fx.p.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	fx.p.Round(ctx, true)
	if got := fx.d.numbers(); got != "7,8" {
		t.Errorf("delivered %s, want 7,8 once each", got)
	}
	found, _ := fx.st.FoundOf(f.ID, false)
	for _, c := range found {
		if c.State != store.Delivered || c.MessageID != "m"+c.Key {
			t.Errorf("found %+v", c)
		}
	}
	g, _, _ := fx.st.GetFollow(f.ID)
	if !strings.Contains(g.Last, "Ch. 8") || g.Since.IsZero() {
		t.Errorf("after: %+v", g)
	}
}

func TestGroupsFilter(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	fx.p.Add(ctx, mdtest.TitleURL("https://mangadex.org"), store.Follow{Groups: []string{"beta scans"}})
	fx.api.Add("7", time.Now().Add(-time.Minute)) // by Alpha Scans
	fx.p.Round(ctx, true)
	if got := fx.d.numbers(); got != "" {
		t.Errorf("delivered %s of another group", got)
	}
}

func TestBackoffOn429(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	f, _ := fx.p.Add(ctx, mdtest.TitleURL("https://mangadex.org"), store.Follow{})
	iv := fx.cfg.Follows.Interval.Duration
	var waits []time.Duration
	fx.api.Throttle(3)
	for range 3 {
		before := time.Now()
		if _, err := fx.p.Round(ctx, true); err == nil || !strings.Contains(err.Error(), "429") {
			t.Fatalf("round: %v", err)
		}
		g, _, _ := fx.st.GetFollow(f.ID)
		waits = append(waits, g.NextCheck.Sub(before).Round(time.Minute))
	}
	if waits[0] != iv || waits[1] != 2*iv || waits[2] != 4*iv {
		t.Errorf("waits %v, want %v doubling", waits, iv)
	}
	fx.p.Round(ctx, true)
	g, _, _ := fx.st.GetFollow(f.ID)
	if g.Failures != 0 || g.LastError != "" || g.NextCheck.Sub(time.Now()).Round(time.Minute) != iv {
		t.Errorf("after success: %+v", g)
	}
}

func TestGoneDestinationPauses(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	f, _ := fx.p.Add(ctx, mdtest.TitleURL("https://mangadex.org"), store.Follow{})
	fx.d.err = errors.Join(follow.ErrGone, errors.New("Unknown Channel"))
	fx.api.Add("7", time.Now().Add(-time.Minute))
	fx.p.Round(ctx, true)
	g, _, _ := fx.st.GetFollow(f.ID)
	if !strings.Contains(g.Paused, "Unknown Channel") {
		t.Fatalf("not paused: %+v", g)
	}
	hits := fx.api.Hits("/manga/")
	fx.p.Round(ctx, true)
	if fx.api.Hits("/manga/") != hits {
		t.Error("a paused follow was checked")
	}
}

func TestRemoveStopsACheckUnderWay(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	f, _ := fx.p.Add(ctx, mdtest.TitleURL("https://mangadex.org"), store.Follow{})
	fx.d.hold = make(chan struct{})
	fx.api.Add("7", time.Now().Add(-time.Minute))
	done := make(chan error, 1)
	go func() { _, err := fx.p.Check(ctx, f.ID); done <- err }()
	// Wait until the chapter is pending (the delivery is held).
	for {
		if p, _ := fx.st.FoundOf(f.ID, true); len(p) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := fx.p.Remove(f.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("check after remove: %v", err)
	}
	if got := fx.d.numbers(); got != "" {
		t.Errorf("delivered %s after remove", got)
	}
	if _, ok, _ := fx.st.GetFollow(f.ID); ok {
		t.Error("follow still stored")
	}
}

func TestAddRefusesWhatCannotBeListed(t *testing.T) {
	fx := newFixture(t)
	gallery := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><img src="/a.jpg"><img src="/b.jpg"></body></html>`))
	}))
	defer gallery.Close()
	for link, want := range map[string]string{
		gallery.URL + "/gallery/1": "cannot be followed",
		"https://mangadex.org/chapter/a1b2c3d4-0000-4000-8000-000000000101": "title link",
		"mangadex.org/title/x": "not a link",
	} {
		if _, err := fx.p.Add(t.Context(), link, store.Follow{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", link, err, want)
		}
	}
	if fs, _ := fx.st.Follows(nil); len(fs) != 0 {
		t.Errorf("%d follows stored", len(fs))
	}
}
