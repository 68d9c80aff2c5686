package pdf

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"os"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/imagetype"
)

// Inspect makes the checks the PDF writer makes of an image file (a known
// format, a sane header, no more than maxPixels pixels, complete data) and
// says what it is. The CBZ and EPUB writers use it, so that a page fails
// the same way in every format. BMP and TIFF, which comic readers and
// EPUB do not take, come back converted to PNG in Data. maxPixels <= 0
// means the writer's default.
func Inspect(path string, maxPixels int64) (book.ImageInfo, error) {
	if maxPixels <= 0 {
		maxPixels = defaultMaxPixels
	}
	pr := &prober{ctx: context.Background(), maxPixels: maxPixels, budget: processBudget()}
	p, err := pr.probe(path)
	if err != nil {
		return book.ImageInfo{}, err
	}
	defer p.done()
	info := book.ImageInfo{Width: p.w, Height: p.h}
	switch p.kind {
	case kindJPEG:
		info.Format = "jpeg"
	case kindPNG, kindStream:
		info.Format = "png"
	default:
		f, err := os.Open(path)
		if err != nil {
			return book.ImageInfo{}, skipf("cannot open image: %v", err)
		}
		var head [imagetype.HeadSize]byte
		n, _ := io.ReadFull(f, head[:])
		f.Close()
		info.Format = string(imagetype.Sniff(head[:n]))
		if info.Format == "bmp" || info.Format == "tiff" {
			var b bytes.Buffer
			if err := png.Encode(&b, p.img); err != nil {
				return book.ImageInfo{}, corrupt(err.Error())
			}
			info.Format, info.Data = "png", b.Bytes()
		}
	}
	return info, nil
}

// Inspector is Inspect with maxPixels bound, for book.Options.Inspect.
func Inspector(maxPixels int64) func(path string) (book.ImageInfo, error) {
	return func(path string) (book.ImageInfo, error) { return Inspect(path, maxPixels) }
}
