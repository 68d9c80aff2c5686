package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCopyNew(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(src, []byte("page bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyNew(src, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "page bytes" {
		t.Fatalf("copy holds %q", b)
	}
	// An existing destination is never overwritten.
	os.WriteFile(src, []byte("other"), 0o644)
	if err := CopyNew(src, dst); err == nil {
		t.Fatal("copied over an existing file")
	}
	if b, _ := os.ReadFile(dst); string(b) != "page bytes" {
		t.Fatalf("existing file changed to %q", b)
	}
	if err := CopyNew(filepath.Join(dir, "missing"), filepath.Join(dir, "c")); err == nil {
		t.Fatal("copied a missing file")
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); !os.IsNotExist(err) {
		t.Fatal("failed copy left a file")
	}
}
