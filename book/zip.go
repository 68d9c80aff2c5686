package book

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// Zip streams a ZIP archive: images are stored as they are (compressing
// JPEG, PNG or WebP gains nothing), text is deflated. Stored entries carry
// their CRC and sizes in the local header (no data descriptor), which the
// EPUB mimetype entry needs and strict readers prefer.
type Zip struct {
	cw  *countingWriter
	zw  *zip.Writer
	mod time.Time
	dir int64 // bytes the central directory will take
}

// ZipEntryCost bounds the bytes an entry of n data bytes adds to the
// archive: local header, central directory record (zip64 extras included)
// and twice the name.
func ZipEntryCost(name string, n int64) int64 { return n + 30 + 46 + 2*28 + 2*int64(len(name)) }

// Reserve bounds what Close still writes: the central directory and the
// end records.
func (z *Zip) Reserve() int64 { return z.dir + 22 + 56 + 20 }

// NewZip starts an archive on w; mod stamps the entries.
func NewZip(w io.Writer, mod time.Time) *Zip {
	cw := &countingWriter{w: w}
	return &Zip{cw: cw, zw: zip.NewWriter(cw), mod: mod}
}

// Written is the number of bytes written so far (the archive's buffer is
// flushed first, so that the count is exact).
func (z *Zip) Written() int64 {
	z.zw.Flush()
	return z.cw.n
}

func (z *Zip) header(name string, method uint16) *zip.FileHeader {
	z.dir += 46 + 28 + int64(len(name))
	fh := &zip.FileHeader{Name: name, Method: method}
	// The legacy MS-DOS time only: the extended timestamp extra field is
	// not allowed on an EPUB's mimetype entry.
	fh.ModifiedDate, fh.ModifiedTime = msDosTime(z.mod)
	return fh
}

// StoreBytes adds data uncompressed.
func (z *Zip) StoreBytes(name string, data []byte) error {
	fh := z.header(name, zip.Store)
	fh.CRC32 = crc32.ChecksumIEEE(data)
	fh.CompressedSize64, fh.UncompressedSize64 = uint64(len(data)), uint64(len(data))
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// StoreFile adds the file at path uncompressed, byte for byte: one pass
// for the CRC, one to copy (the second is served from the page cache).
func (z *Zip) StoreFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	fh := z.header(name, zip.Store)
	fh.CRC32 = h.Sum32()
	fh.CompressedSize64, fh.UncompressedSize64 = uint64(n), uint64(n)
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	// A file that changed between the passes would break the archive.
	h.Reset()
	m, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, n))
	if err != nil {
		return err
	}
	if m != n || h.Sum32() != fh.CRC32 {
		return &os.PathError{Op: "zip", Path: path, Err: errChanged}
	}
	return nil
}

// StoreImage adds a page image, from its file or its bytes.
func (z *Zip) StoreImage(name string, img *Image) error {
	if img.Path == "" {
		return z.StoreBytes(name, img.Data)
	}
	return z.StoreFile(name, img.Path)
}

// Deflate adds data compressed.
func (z *Zip) Deflate(name string, data []byte) error {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(data)
	if err := fw.Close(); err != nil {
		return err
	}
	fh := z.header(name, zip.Deflate)
	fh.CRC32 = crc32.ChecksumIEEE(data)
	fh.CompressedSize64, fh.UncompressedSize64 = uint64(b.Len()), uint64(len(data))
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// Close writes the central directory.
func (z *Zip) Close() error { return z.zw.Close() }

func msDosTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return
}

var errChanged = errors.New("file changed while it was being written")

// countingWriter counts the bytes that pass through.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
