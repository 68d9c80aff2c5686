// Package testtool runs the external checkers the tests rely on (qpdf,
// poppler, epubcheck, xmllint). A missing tool skips the test on a
// developer's machine and fails it in CI (CI set), where .ci/run installs
// them all.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
