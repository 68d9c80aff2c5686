//go:build unix

package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWorkDirLocking: a live run's folder is never shared or removed; a
// dead run's folder (its lock released, as the kernel does on SIGKILL) is
// resumed by the run of the same output and removed by any other.
func TestWorkDirLocking(t *testing.T) {
	dir := t.TempDir()
	// A live run of another output, all along.
	c, err := openWorkDir(dir, "cccc")
	if err != nil {
		t.Fatal(err)
	}
	defer c.remove()
	a, err := openWorkDir(dir, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(a.path) != ".mangabot-job-aaaa" {
		t.Fatalf("work folder %s", a.path)
	}
	pid, _ := os.ReadFile(filepath.Join(a.path, lockName))
	if strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file says %q, want our pid", pid)
	}
	// The same output while a is alive: a folder of its own.
	a2, err := openWorkDir(dir, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if a2.path == a.path || !strings.HasPrefix(filepath.Base(a2.path), ".mangabot-job-aaaa-") {
		t.Fatalf("second live run got %s (first %s)", a2.path, a.path)
	}
	a2.remove()

	os.WriteFile(filepath.Join(a.path, "page-0001.jpg"), []byte("x"), 0o644)
	b, err := openWorkDir(dir, "bbbb")
	if err != nil {
		t.Fatal(err)
	}
	// Both die without cleaning up.
	a.lock.Close()
	b.lock.Close()
	// A folder without a lock file: just created by someone (kept), or
	// left long ago (removed).
	young := filepath.Join(dir, ".mangabot-job-young")
	old := filepath.Join(dir, ".mangabot-job-old")
	os.Mkdir(young, 0o755)
	os.Mkdir(old, 0o755)
	past := time.Now().Add(-2 * unlockedAge)
	os.Chtimes(old, past, past)
	os.WriteFile(filepath.Join(dir, "done.pdf"), []byte("%PDF"), 0o644)

	// The rerun of a's output resumes a's folder and pages.
	again, err := openWorkDir(dir, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if again.path != a.path {
		t.Errorf("rerun got %s, want to resume %s", again.path, a.path)
	}
	if _, err := os.Stat(filepath.Join(again.path, "page-0001.jpg")); err != nil {
		t.Errorf("resumed folder lost its page: %v", err)
	}
	want := []string{".mangabot-job-aaaa", ".mangabot-job-cccc", ".mangabot-job-young", "done.pdf"}
	if got := entries(t, dir); !slices.Equal(got, want) {
		t.Errorf("dir holds %v, want %v (b's and the old folder removed)", got, want)
	}
	if err := again.remove(); err != nil {
		t.Fatal(err)
	}
	removed, err := CleanStale(dir, "")
	if err != nil || len(removed) != 0 {
		t.Errorf("CleanStale removed %v (%v); the live and the young folder must stay", removed, err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{".mangabot-job-cccc", ".mangabot-job-young", "done.pdf"}) {
		t.Errorf("after the run: %v", got)
	}
}

func entries(t *testing.T, dir string) []string {
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}
