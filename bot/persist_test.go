package bot

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/store"
)

// A cancelled job is cancelled in the store before its final edit lands
// (which may retry for long): a crash meanwhile does not resurrect it.
func TestCancelPersistedBeforeFinalEdit(t *testing.T) {
	h := start(t, func(c *Config) {
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.RetryDelay = time.Hour // the final edit waits (until shutdown)
		c.ShutdownGrace = 100 * time.Millisecond
	})
	site := newSite(t, 60, true)
	tok := h.download("u1", site.URL+"/chapter/cx?n=3", 0)
	id := h.jobID(tok)
	h.waitFor("running", func() bool { r, _, _ := h.bot.st.Get(id); return r.State == store.Running })
	h.fd.Inject(fakeFault("PATCH", "/messages/@original", 1000, 500))
	h.click("u1", 0, "cancel:"+id)
	h.waitFor("cancelled in the store", func() bool {
		r, _, _ := h.bot.st.Get(id)
		return r.State == store.Cancelled
	})
}

// A delivery that fails is recorded as failed, not done.
func TestFailedDeliveryPersistedFailed(t *testing.T) {
	h := start(t, func(c *Config) { c.StorePath = filepath.Join(t.TempDir(), "store.db") })
	h.fd.Inject(fakediscord.Fault{Method: "PATCH", PathContains: "/messages/@original", WithFiles: true,
		Count: 1000, Status: 400, Body: `{"message":"nope","code":50035}`})
	site := newSite(t, 60, false)
	tok := h.download("u1", site.URL+"/chapter/fd?n=2", 0)
	id := h.jobID(tok)
	h.waitFor("failure shown", h.originalHas(tok, "Failed"))
	h.waitIdle()
	if r, _, _ := h.bot.st.Get(id); r.State != store.Failed {
		t.Fatalf("state %s", r.State)
	}
}

// Temp files of jobs a crash left behind are removed at start, with and
// without a store.
func TestStartRemovesOldTempFiles(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		out := t.TempDir()
		old := []string{
			filepath.Join(out, "jobs", "abc"),
			filepath.Join(out, "jobs", "abc.pages"),
			filepath.Join(out, "jobs", "abc-split-123"),
			filepath.Join(out, "job-deadbeef"),
		}
		for _, d := range old {
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o644)
		}
		h := start(t, func(c *Config) {
			c.OutputDir = out
			if withStore {
				c.StorePath = filepath.Join(t.TempDir(), "store.db")
			}
		})
		for _, d := range old {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("store %v: %s survived", withStore, d)
			}
		}
		h.stop()
	}
}
