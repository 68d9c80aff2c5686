package fsutil

import (
	"io"
	"os"
)

// CopyNew copies src to dst, which must not exist yet (O_EXCL: a copy never
// clobbers a file someone else made). On error dst is removed. Callers copy
// into a temp name and rename, so a reader never sees a partial file.
func CopyNew(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}
