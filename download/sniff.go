package download

import (
	"bytes"
	"encoding/binary"
	"mime"
	"net/http"
)

// imageTypes maps a sniffed type to its file extension; resume looks for
// these extensions.
var imageTypes = []struct{ typ, ext string }{
	{"jpeg", ".jpg"},
	{"png", ".png"},
	{"gif", ".gif"},
	{"webp", ".webp"},
	{"avif", ".avif"},
	{"bmp", ".bmp"},
	{"tiff", ".tif"},
}

func extFor(typ string) string {
	for _, t := range imageTypes {
		if t.typ == typ {
			return t.ext
		}
	}
	return ""
}

// sniffImage names the image format from its magic number, or "" when head
// is not an image we know. head is the first (up to) 512 bytes.
func sniffImage(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return "webp"
	case len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")) &&
		(bytes.Equal(head[8:12], []byte("avif")) || bytes.Equal(head[8:12], []byte("avis"))):
		return "avif"
	case isBMP(head):
		return "bmp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	}
	return ""
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
	case 12, 40, 52, 56, 108, 124:
	default:
		return false
	}
	// Pixels start after both headers and within the file; no page is
	// near 1 GiB.
	return off >= 14+dib && size >= off && size <= 1<<30
}

// mediaType is what the body looks like when it is not an image, for the
// user's error message ("text/html").
func mediaType(head []byte) string {
	mt, _, err := mime.ParseMediaType(http.DetectContentType(head))
	if err != nil {
		return "unknown"
	}
	return mt
}
