package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanOrphans(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, dir bool) {
		p := filepath.Join(root, name)
		if dir {
			if err := os.MkdirAll(filepath.Join(p, ".mangabot-job-123", "1"), 0o755); err != nil {
				t.Fatal(err)
			}
			p = filepath.Join(p, ".mangabot-job-123", "1", "001.jpg")
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("job-live", true)
	mk("job-live.pdf.tmp", false)
	mk("job-dead", true)
	mk("job-dead.pdf.tmp", false)
	mk(".mangabot-job-4711", true) // the pipeline's (pipeline.CleanStale)
	mk("notes.txt", false)         // not ours
	mk("job-", false)              // no ID: not ours
	if JobDir(root, "live") != filepath.Join(root, "job-live") {
		t.Fatalf("JobDir = %s", JobDir(root, "live"))
	}
	if err := CleanOrphans(root, map[string]bool{"live": true}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(root)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".mangabot-job-4711 job- job-live job-live.pdf.tmp notes.txt" {
		t.Fatalf("left in root: %s", got)
	}
	// A live job's pages, temp dir included, are kept for resuming.
	if _, err := os.Stat(filepath.Join(root, "job-live", ".mangabot-job-123", "1", "001.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := CleanOrphans(filepath.Join(root, "missing"), nil); err != nil {
		t.Fatalf("missing root: %v", err)
	}
}
