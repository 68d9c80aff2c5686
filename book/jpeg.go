package book

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
)

// JPEG encodes img as a baseline JPEG at quality (1-100), composited onto
// white first when it has transparency (a page is printed on white paper;
// JPEG has no alpha). Grey images stay one-channel.
func JPEG(img image.Image, quality int) ([]byte, error) {
	src := img
	if !opaque(img) {
		b := img.Bounds()
		flat := image.NewRGBA(b)
		draw.Draw(flat, b, image.White, image.Point{}, draw.Src)
		draw.Draw(flat, b, img, b.Min, draw.Over)
		src = flat
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}
