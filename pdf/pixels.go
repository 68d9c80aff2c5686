package pdf

import (
	"image"
	"image/color"
)

// rowFunc writes row y of an image as 8-bit RGB, composited onto white
// (a manga page is printed on white paper), into dst (3*width bytes).
type rowFunc func(y int, dst []byte)

// over composites an 8-bit non-premultiplied channel with alpha a onto white.
func over(c, a uint32) byte {
	return byte((c*a + 255*(255-a) + 127) / 255)
}

// rgbRows returns a row converter, with fast paths for the types the
// standard decoders produce; the generic path goes through color.Color.
func rgbRows(img image.Image) rowFunc {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.Gray:
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range row {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				if a := uint32(p[3]); a == 255 {
					dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
				} else {
					dst[3*x], dst[3*x+1], dst[3*x+2] = over(uint32(p[0]), a), over(uint32(p[1]), a), over(uint32(p[2]), a)
				}
			}
		}
	case *image.RGBA:
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: white shows through by (255-a).
				k := 255 - p[3]
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[0]+k, p[1]+k, p[2]+k
			}
		}
	case *image.YCbCr:
		return func(y int, dst []byte) {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.NYCbCrA:
		return func(y int, dst []byte) {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				a := uint32(m.A[m.AOffset(b.Min.X+x, b.Min.Y+y)])
				dst[3*x], dst[3*x+1], dst[3*x+2] = over(uint32(r), a), over(uint32(g), a), over(uint32(bl), a)
			}
		}
	case *image.Paletted:
		var pal [256][3]byte
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			a := uint32(n.A)
			pal[i] = [3]byte{over(uint32(n.R), a), over(uint32(n.G), a), over(uint32(n.B), a)}
		}
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, i := range row {
				c := pal[i]
				dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
			}
		}
	}
	return func(y int, dst []byte) {
		for x := 0; x < w; x++ {
			// Premultiplied 16-bit: composite at full precision, then round.
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			k := 0xffff - a
			dst[3*x], dst[3*x+1], dst[3*x+2] = to8(r+k), to8(g+k), to8(bl+k)
		}
	}
}

func to8(v uint32) byte { return byte((v*255 + 32767) / 65535) }

// is16 reports whether img holds 16-bit samples (16-bit PNG and TIFF
// decode to these), which are then stored at 16 bits per component.
func is16(img image.Image) bool {
	switch img.(type) {
	case *image.Gray16, *image.RGBA64, *image.NRGBA64:
		return true
	}
	return false
}

// rgb16Rows returns a row converter to 16-bit big-endian RGB, composited
// onto white at full precision, into dst (6*width bytes).
func rgb16Rows(img image.Image) rowFunc {
	b := img.Bounds()
	w := b.Dx()
	put := func(dst []byte, x int, r, g, bl uint32) {
		d := dst[6*x : 6*x+6 : 6*x+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = byte(r>>8), byte(r), byte(g>>8), byte(g), byte(bl>>8), byte(bl)
	}
	switch m := img.(type) {
	case *image.Gray16:
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			for x := 0; x < w; x++ {
				v := uint32(row[2*x])<<8 | uint32(row[2*x+1])
				put(dst, x, v, v, v)
			}
		}
	case *image.NRGBA64:
		return func(y int, dst []byte) {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				r := uint32(p[0])<<8 | uint32(p[1])
				g := uint32(p[2])<<8 | uint32(p[3])
				bl := uint32(p[4])<<8 | uint32(p[5])
				if a := uint32(p[6])<<8 | uint32(p[7]); a != 0xffff {
					r, g, bl = over16(r, a), over16(g, a), over16(bl, a)
				}
				put(dst, x, r, g, bl)
			}
		}
	}
	return func(y int, dst []byte) {
		for x := 0; x < w; x++ {
			// Premultiplied: white shows through by (0xffff-a).
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			k := 0xffff - a
			put(dst, x, r+k, g+k, bl+k)
		}
	}
}

// over16 composites a 16-bit non-premultiplied channel with alpha a onto
// white.
func over16(c, a uint32) uint32 {
	return uint32((uint64(c)*uint64(a) + 0xffff*uint64(0xffff-a) + 0x7fff) / 0xffff)
}

// isGray reports whether every composited pixel is neutral, so the page can
// be stored with one channel instead of three.
func isGray(img image.Image) bool {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	}
	if is16(img) {
		w := img.Bounds().Dx()
		rows := rgb16Rows(img)
		buf := make([]byte, 6*w)
		for y := 0; y < img.Bounds().Dy(); y++ {
			rows(y, buf)
			for i := 0; i < len(buf); i += 6 {
				if buf[i] != buf[i+2] || buf[i] != buf[i+4] || buf[i+1] != buf[i+3] || buf[i+1] != buf[i+5] {
					return false
				}
			}
		}
		return true
	}
	w := img.Bounds().Dx()
	rows := rgbRows(img)
	buf := make([]byte, 3*w)
	for y := 0; y < img.Bounds().Dy(); y++ {
		rows(y, buf)
		for i := 0; i < len(buf); i += 3 {
			if buf[i] != buf[i+1] || buf[i] != buf[i+2] {
				return false
			}
		}
	}
	return true
}
