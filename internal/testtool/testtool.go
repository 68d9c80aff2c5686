// Package testtool runs the external checkers the tests rely on (qpdf,
// poppler, epubcheck, xmllint). A missing tool skips the test on a
// developer's machine and fails it in CI (CI set), where .ci/run installs
// them all. It also holds the small helpers tests share (ZIP reading, a
// log buffer).
package testtool

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mangabot/mangabot/book"
)

// Need skips (or in CI fails) the test when the command is not installed.
func Need(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: .ci/run must install it", name)
		}
		t.Skipf("%s not installed", name)
	}
}

// Epubcheck fails the test unless epubcheck reports no error and no warning
// for the EPUB at path.
func Epubcheck(t testing.TB, path string) {
	t.Helper()
	Need(t, "epubcheck")
	bin, _ := exec.LookPath("epubcheck")
	cmd := exec.Command(bin, path)
	// Debian's epubcheck is a jar run through binfmt, which containers
	// often lack: run it with java directly.
	if real, err := filepath.EvalSymlinks(bin); err == nil && strings.HasSuffix(real, ".jar") {
		Need(t, "java")
		// Quick start-up: a check is one short run.
		cmd = exec.Command("java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", real, path)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "WARNING") {
		t.Fatalf("epubcheck %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// ValidateXML fails the test unless the XML document validates against the
// XSD schema (xmllint --schema).
func ValidateXML(t testing.TB, doc []byte, xsd string) {
	t.Helper()
	Need(t, "xmllint")
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint --schema %s: %v\n%s\n%s", filepath.Base(xsd), err, out, doc)
	}
}

// ReadZip opens the archive at path and reads every entry (which checks
// each CRC); it returns the entries' headers in archive order and their
// contents by name.
func ReadZip(t testing.TB, path string) ([]zip.FileHeader, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer zr.Close()
	var heads []zip.FileHeader
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s in %s: %v", f.Name, path, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in %s: %v", f.Name, path, err)
		}
		heads = append(heads, f.FileHeader)
		files[f.Name] = b
	}
	return heads, files
}

// Names lists the entries' names.
func Names(heads []zip.FileHeader) []string {
	names := make([]string, len(heads))
	for i, h := range heads {
		names[i] = h.Name
	}
	return names
}

// Pages are the files of dir, by name, as input pages of a writer.
func Pages(dir string, names ...string) []book.Page {
	pages := make([]book.Page, len(names))
	for i, n := range names {
		pages[i] = book.Page{Path: filepath.Join(dir, n)}
	}
	return pages
}

// LogBuffer is a goroutine-safe buffer: the log sink (a logger's, or a
// child process's stdout and stderr) that a test reads while it is still
// written to.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
