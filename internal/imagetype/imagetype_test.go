package imagetype

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ftyp builds an ISO-BMFF ftyp box with the given major and compatible brands.
func ftyp(major string, compat ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(16+4*len(compat)))
	b = append(b, "ftyp"+major+"\x00\x00\x00\x00"...)
	for _, c := range compat {
		b = append(b, c...)
	}
	return append(b, "\x00\x00\x00\x08meta"...)
}

// bmpHead is a plausible BMP file header with the given fields.
func bmpHead(size, off, dib uint32) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, size)
	b = append(b, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, off)
	b = binary.LittleEndian.AppendUint32(b, dib)
	return append(b, make([]byte, 40)...)
}

func TestSniff(t *testing.T) {
	cases := []struct {
		name string
		head []byte
		want Type
	}{
		{"jpeg encoded", encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) }), JPEG},
		{"jpeg magic", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}, JPEG},
		{"jpeg two bytes", []byte{0xFF, 0xD8}, Unknown},
		{"png encoded", encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }), PNG},
		{"png signature cut", []byte("\x89PNG\r\n\x1a"), Unknown},
		{"png lf mangled", []byte("\x89PNG\n\n\x1a\n"), Unknown},
		{"gif encoded", encoded(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }), GIF},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), GIF},
		{"gif other version", []byte("GIF88a"), Unknown},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), WebP},
		{"riff wave", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), Unknown},
		{"bmp encoded", encoded(t, func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }), BMP},
		{"bmp core header", bmpHead(30, 26, 12), BMP},
		{"bmp v5 header", bmpHead(200, 138, 124), BMP},
		{"bmp and text", []byte("BMW 320d for sale, low mileage, call now"), Unknown},
		{"bmp 14 bytes", []byte("BM\x00\x10\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"), Unknown},
		{"bmp dib 41", bmpHead(100, 55, 41), Unknown},
		{"bmp pixel offset inside header", bmpHead(100, 2, 40), Unknown},
		{"bmp file size below offset", bmpHead(20, 54, 40), Unknown},
		{"bmp file size absurd", bmpHead(0xFFFFFFFF, 54, 40), Unknown},
		{"tiff encoded", encoded(t, func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }), TIFF},
		{"tiff big endian", []byte("MM\x00*\x00\x00\x00\x08"), TIFF},
		{"avif major", ftyp("avif", "mif1", "miaf"), AVIF},
		{"avif sequence", ftyp("avis", "msf1"), AVIF},
		{"avif in compatible brands", ftyp("mif1", "miaf", "avif"), AVIF},
		{"heic", ftyp("heic", "mif1", "heic"), HEIC},
		{"heif base brand", ftyp("mif1", "heic"), HEIC},
		{"heic sequence", ftyp("hevc", "msf1"), HEIC},
		{"mp4 video", ftyp("isom", "iso2", "mp41"), Unknown},
		{"ftyp short", []byte("\x00\x00\x00\x0cftypav"), Unknown},
		{"jxl codestream", []byte{0xFF, 0x0A, 0xFA, 0x7F}, JXL},
		{"jxl container", []byte("\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl "), JXL},
		{"html", []byte("<!DOCTYPE html><html><head><title>403</title>"), Unknown},
		{"json", []byte(`{"error":"not found"}`), Unknown},
		{"empty", nil, Unknown},
	}
	for _, c := range cases {
		head := c.head[:min(len(c.head), HeadSize)]
		if got := Sniff(head); got != c.want {
			t.Errorf("%s: Sniff = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestExt(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range []Type{JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF, HEIC, JXL} {
		ext := typ.Ext()
		if ext == "" || ext[0] != '.' || seen[ext] {
			t.Errorf("%s: extension %q missing or repeated", typ, ext)
		}
		seen[ext] = true
	}
	if Unknown.Ext() != "" {
		t.Errorf("Unknown has extension %q", Unknown.Ext())
	}
	if len(Exts()) != len(seen) {
		t.Errorf("Exts lists %d extensions, the types have %d", len(Exts()), len(seen))
	}
}
