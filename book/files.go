package book

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Files hands out the outputs of one document: each through a temp file
// beside path, renamed when the whole document is complete. The first part
// keeps path and the others go beside it: ch12.cbz, ch12-part2.cbz, ...
type Files struct {
	path    string
	tempDir string
	temps   []string
	cur     *syncingFile
}

// NewFiles prepares the outputs for path; nothing is created yet. The
// temp files go into tempDir (on the output's file system, since they are
// renamed into place), or beside path when it is empty.
func NewFiles(path, tempDir string) *Files { return &Files{path: path, tempDir: tempDir} }

// Next starts the next output.
func (f *Files) Next() (io.Writer, error) {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	if f.tempDir != "" {
		dir = f.tempDir
	}
	t, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	f.cur = &syncingFile{File: t}
	f.temps = append(f.temps, t.Name())
	return f.cur, nil
}

// Done completes the current output.
func (f *Files) Done() error {
	t := f.cur
	f.cur = nil
	// Sync before rename so a crash cannot leave a complete-looking name
	// over partial data.
	t.wait()
	err := t.Sync()
	if err2 := t.Chmod(0o644); err == nil {
		err = err2
	}
	if err2 := t.Close(); err == nil {
		err = err2
	}
	return err
}

// Commit renames every output to its final name and returns the names in
// order. On error nothing is left behind.
func (f *Files) Commit() ([]string, error) {
	names := PartNames(f.path, len(f.temps))
	for i, t := range f.temps {
		if err := os.Rename(t, names[i]); err != nil {
			for _, done := range names[:i] {
				os.Remove(done)
			}
			f.temps = f.temps[i:]
			f.Abort()
			return nil, err
		}
	}
	f.temps = nil
	return names, nil
}

// Abort removes every output written so far.
func (f *Files) Abort() {
	if f.cur != nil {
		f.cur.wait()
		f.cur.Close()
		f.cur = nil
	}
	for _, t := range f.temps {
		os.Remove(t)
	}
	f.temps = nil
}

// PartNames gives "ch12.pdf", "ch12-part2.pdf", "ch12-part3.pdf", ... for
// "ch12.pdf": the first part keeps the name asked for.
func PartNames(path string, n int) []string {
	ext := filepath.Ext(path)
	if strings.ContainsAny(ext, " ") {
		ext = ""
	}
	stem := strings.TrimSuffix(path, ext)
	names := make([]string, n)
	if n > 0 {
		names[0] = path
	}
	for i := 1; i < n; i++ {
		names[i] = fmt.Sprintf("%s-part%d%s", stem, i+1, ext)
	}
	return names
}

// CheckMaxFileBytes refuses a limit too small to hold a page.
func CheckMaxFileBytes(n int64) error {
	if n > 0 && n < MinFileBytes {
		return fmt.Errorf("max_file_bytes must be at least 4 KiB (%d bytes), got %d", int64(MinFileBytes), n)
	}
	return nil
}
