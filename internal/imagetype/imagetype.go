// Package imagetype names an image format from its magic number. The
// fetcher uses it to tell an image from an error page and to pick the file
// extension; the PDF writer uses it to choose a decoder. One sniffer, so
// that the two never disagree about what a file is.
package imagetype

import (
	"bytes"
	"encoding/binary"
)

// Type is an image format; the zero value is "not an image we know".
type Type string

// Formats the writers can embed, and formats known only to be named in a
// clear "unsupported" reason instead of "not an image".
const (
	Unknown Type = ""
	JPEG    Type = "jpeg"
	PNG     Type = "png"
	GIF     Type = "gif"
	WebP    Type = "webp"
	BMP     Type = "bmp"
	TIFF    Type = "tiff"
	AVIF    Type = "avif"
	HEIC    Type = "heic"
	JXL     Type = "jxl"
)

// HeadSize is how many leading bytes Sniff wants to see; fewer are fine,
// the checks that need more just fail.
const HeadSize = 512

// exts in the order resume looks for them.
var exts = []struct {
	t   Type
	ext string
}{
	{JPEG, ".jpg"}, {PNG, ".png"}, {GIF, ".gif"}, {WebP, ".webp"}, {AVIF, ".avif"},
	{BMP, ".bmp"}, {TIFF, ".tif"}, {HEIC, ".heic"}, {JXL, ".jxl"},
}

// Ext is the file extension for t (".jpg"), "" for Unknown.
func (t Type) Ext() string {
	for _, e := range exts {
		if e.t == t {
			return e.ext
		}
	}
	return ""
}

// Exts lists the extension of every known type, in a fixed order.
func Exts() []string {
	out := make([]string, len(exts))
	for i, e := range exts {
		out[i] = e.ext
	}
	return out
}

// Sniff names the format of a file starting with head (up to HeadSize
// bytes); Unknown for anything else, such as an HTML error page saved
// under an image name.
func Sniff(head []byte) Type {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP
	case isBMP(head):
		return BMP
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return TIFF
	case bytes.HasPrefix(head, []byte{0xFF, 0x0A}), bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return JXL
	}
	return isoBMFF(head)
}

// isBMP checks the BMP file header, not just "BM" (which plenty of text
// starts with): reserved fields zero, a known DIB header size, and file size
// and pixel offset fields that agree with them.
func isBMP(head []byte) bool {
	if len(head) < 18 || head[0] != 'B' || head[1] != 'M' {
		return false
	}
	size := binary.LittleEndian.Uint32(head[2:])
	off := binary.LittleEndian.Uint32(head[10:])
	dib := binary.LittleEndian.Uint32(head[14:])
	if binary.LittleEndian.Uint16(head[6:]) != 0 || binary.LittleEndian.Uint16(head[8:]) != 0 {
		return false
	}
	switch dib {
	case 12, 40, 52, 56, 64, 108, 124:
	default:
		return false
	}
	// Pixels start after both headers and within the file; no page is
	// near 1 GiB.
	return off >= 14+dib && size >= off && size <= 1<<30
}

// isoBMFF tells AVIF and HEIC apart by the brands of the ftyp box. The
// major brand alone is not enough: many AVIF files say "mif1" (the HEIF
// base brand) and list "avif" among the compatible brands.
func isoBMFF(head []byte) Type {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return Unknown
	}
	n := int(binary.BigEndian.Uint32(head))
	if n < 16 || n > len(head) {
		n = len(head) // brands past what was read are not looked at
	}
	heif := false
	// major brand at 8, minor version at 12, compatible brands from 16.
	for i := 8; i+4 <= n; i += 4 {
		if i == 12 {
			continue
		}
		switch string(head[i : i+4]) {
		case "avif", "avis":
			return AVIF
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1":
			heif = true
		}
	}
	if heif {
		return HEIC
	}
	return Unknown
}
