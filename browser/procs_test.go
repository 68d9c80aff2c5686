package browser

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Profiles of a killed bot are removed; one in use, or just made, is not.
func TestRemoveStaleProfiles(t *testing.T) {
	tmp := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		d := filepath.Join(tmp, profilePrefix+name)
		if err := os.MkdirAll(filepath.Join(d, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale, fresh, used := mk("stale", old), mk("fresh", time.Now()), mk("used", old)
	// A live process with the profile on its command line, as Chromium has.
	sleeper := exec.Command("sh", "-c", "sleep 30; :", "--user-data-dir="+used)
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()

	removeStaleProfiles(tmp)
	for d, keep := range map[string]bool{stale: false, fresh: true, used: true} {
		if _, err := os.Stat(d); (err == nil) != keep {
			t.Errorf("%s: kept %v, want %v", filepath.Base(d), err == nil, keep)
		}
	}
}
