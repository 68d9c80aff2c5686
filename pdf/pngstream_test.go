package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pngSpec describes a test PNG; sample gives raw sample c of pixel (x, y)
// at the spec's depth (a palette index for colour type 3).
type pngSpec struct {
	name       string
	w, h       int
	ctype      byte
	depth      int
	interlaced bool
	plte, trns []byte
	sample     func(x, y, c int) uint16
}

func (s pngSpec) channels() int {
	return map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[s.ctype]
}

// encode writes the PNG by hand (Go's encoder cannot write interlaced,
// sub-byte grey, tRNS colour keys or chosen filters), cycling each row
// through all five filter types so that de-filtering is exercised.
func (s pngSpec) encode() []byte {
	type pass struct{ x0, y0, dx, dy int }
	passes := []pass{{0, 0, 1, 1}}
	if s.interlaced {
		passes = []pass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	ch := s.channels()
	unit := max(1, ch*s.depth/8)
	var raw bytes.Buffer
	for pi, p := range passes {
		var prev []byte
		for y := p.y0; y < s.h; y += p.dy {
			if p.x0 >= s.w {
				break
			}
			// Pack the row.
			var bits []byte
			acc, nacc := 0, 0
			for x := p.x0; x < s.w; x += p.dx {
				for c := range ch {
					v := int(s.sample(x, y, c))
					switch {
					case s.depth == 16:
						bits = append(bits, byte(v>>8), byte(v))
					case s.depth == 8:
						bits = append(bits, byte(v))
					default:
						acc = acc<<s.depth | v
						nacc += s.depth
						if nacc == 8 {
							bits = append(bits, byte(acc))
							acc, nacc = 0, 0
						}
					}
				}
			}
			if nacc > 0 {
				bits = append(bits, byte(acc<<(8-nacc)))
			}
			if prev == nil {
				prev = make([]byte, len(bits))
			}
			ft := byte((y + pi) % 5)
			out := make([]byte, len(bits))
			for i := range bits {
				var a, c int
				if i >= unit {
					a, c = int(bits[i-unit]), int(prev[i-unit])
				}
				b := int(prev[i])
				var pred int
				switch ft {
				case 1:
					pred = a
				case 2:
					pred = b
				case 3:
					pred = (a + b) / 2
				case 4:
					pred = int(paethRef(a, b, c))
				}
				out[i] = bits[i] - byte(pred)
			}
			raw.WriteByte(ft)
			raw.Write(out)
			prev = bits
		}
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(raw.Bytes())
	zw.Close()
	return s.file(z.Bytes())
}

// file assembles the PNG of the spec's header, palette and tRNS around
// the zlib data z, split over several IDAT chunks as encoders do.
func (s pngSpec) file(z []byte) []byte {
	il := byte(0)
	if s.interlaced {
		il = 1
	}
	return pngFile(s.w, s.h, byte(s.depth), s.ctype, il, s.plte, s.trns, z)
}

func pngFile(w, h int, depth, ctype, interlace byte, plte, trns, z []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, ctype, 0, 0, interlace)
	data := []byte("\x89PNG\r\n\x1a\n")
	data = append(data, pngChunk("IHDR", ihdr)...)
	if len(plte) > 0 {
		data = append(data, pngChunk("PLTE", plte)...)
	}
	if len(trns) > 0 {
		data = append(data, pngChunk("tRNS", trns)...)
	}
	for len(z) > 0 {
		n := min(len(z), 1<<15+7)
		data = append(data, pngChunk("IDAT", z[:n])...)
		z = z[n:]
	}
	return append(data, pngChunk("IEND", nil)...)
}

// paethRef is the PNG specification's predictor, written out separately
// from the one under test.
func paethRef(a, b, c int) int {
	p := a + b - c
	pa, pb, pc := p-a, p-b, p-c
	if pa < 0 {
		pa = -pa
	}
	if pb < 0 {
		pb = -pb
	}
	if pc < 0 {
		pc = -pc
	}
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

// noise is a cheap deterministic hash of (x, y, c).
func noise(x, y, c int) uint32 {
	h := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77 ^ uint32(c)*0xC2B2AE3D
	h ^= h >> 15
	h *= 0x2C1B3C6D
	return h ^ h>>12
}

// streamSpecs covers every colour type and bit depth that is decoded
// rather than passed through, interlaced or not, with tRNS where allowed.
func streamSpecs(w, h int) []pngSpec {
	var specs []pngSpec
	mask := func(d int) uint32 { return 1<<d - 1 }
	colours := func(x, y, c int) uint32 { return noise(x/3, y/3, c) }
	// Alpha: opaque, fully transparent and in between, in patches.
	alpha := func(x, y int, d int) uint16 {
		switch noise(x/5, y/5, 9) % 4 {
		case 0:
			return uint16(mask(d))
		case 1:
			return 0
		}
		return uint16(noise(x, y, 7) & mask(d))
	}
	for _, d := range []int{1, 2, 4, 8, 16} {
		d := d
		key := uint16(noise(1, 1, 0) & mask(d)) // a value that occurs
		gray := func(x, y, c int) uint16 { return uint16(colours(x, y, 0) & mask(d)) }
		trns := binary.BigEndian.AppendUint16(nil, key)
		specs = append(specs,
			pngSpec{name: fmt.Sprintf("grey%d-trns", d), w: w, h: h, ctype: 0, depth: d, trns: trns, sample: gray},
			pngSpec{name: fmt.Sprintf("grey%d-interlaced", d), w: w, h: h, ctype: 0, depth: d, interlaced: true, sample: gray},
		)
		if d == 16 {
			continue
		}
		n := 1 << d
		var plte, ptrns []byte
		for i := range n {
			plte = append(plte, byte(noise(i, 0, 1)), byte(noise(i, 0, 2)), byte(noise(i, 0, 3)))
			ptrns = append(ptrns, byte(noise(i, 0, 4)))
		}
		// One index past a short palette: image/png shows it opaque black.
		short := plte[:3*max(1, n-1)]
		index := func(x, y, c int) uint16 { return uint16(colours(x, y, 0) & mask(d)) }
		specs = append(specs,
			pngSpec{name: fmt.Sprintf("palette%d-interlaced-short", d), w: w, h: h, ctype: 3, depth: d, interlaced: true, plte: short, sample: index},
			pngSpec{name: fmt.Sprintf("palette%d-trns", d), w: w, h: h, ctype: 3, depth: d, plte: plte, trns: ptrns[:max(1, n/2)], sample: index},
		)
	}
	var greyPal []byte
	for i := range 256 {
		greyPal = append(greyPal, byte(i), byte(i), byte(i))
	}
	specs = append(specs, pngSpec{name: "palette8-grey-entries", w: w, h: h, ctype: 3, depth: 8, interlaced: true, plte: greyPal,
		sample: func(x, y, c int) uint16 { return uint16(colours(x, y, 0) & 0xff) }})
	for _, d := range []int{8, 16} {
		d := d
		rgb := func(x, y, c int) uint16 { return uint16(colours(x, y, c) & mask(d)) }
		key := binary.BigEndian.AppendUint16(nil, rgb(0, 0, 0))
		key = binary.BigEndian.AppendUint16(key, rgb(0, 0, 1))
		key = binary.BigEndian.AppendUint16(key, rgb(0, 0, 2))
		ga := func(x, y, c int) uint16 {
			if c == 1 {
				return alpha(x, y, d)
			}
			return uint16(colours(x, y, 0) & mask(d))
		}
		rgba := func(x, y, c int) uint16 {
			if c == 3 {
				return alpha(x, y, d)
			}
			return uint16(colours(x, y, c) & mask(d))
		}
		neutral := func(x, y, c int) uint16 { // RGBA with r = g = b: stored as grey
			if c == 3 {
				return alpha(x, y, d)
			}
			return uint16(colours(x, y, 0) & mask(d))
		}
		specs = append(specs,
			pngSpec{name: fmt.Sprintf("rgb%d-trns", d), w: w, h: h, ctype: 2, depth: d, trns: key, sample: rgb},
			pngSpec{name: fmt.Sprintf("rgb%d-interlaced", d), w: w, h: h, ctype: 2, depth: d, interlaced: true, sample: rgb},
			pngSpec{name: fmt.Sprintf("greyalpha%d", d), w: w, h: h, ctype: 4, depth: d, sample: ga},
			pngSpec{name: fmt.Sprintf("greyalpha%d-interlaced", d), w: w, h: h, ctype: 4, depth: d, interlaced: true, sample: ga},
			pngSpec{name: fmt.Sprintf("rgba%d", d), w: w, h: h, ctype: 6, depth: d, sample: rgba},
			pngSpec{name: fmt.Sprintf("rgba%d-interlaced", d), w: w, h: h, ctype: 6, depth: d, interlaced: true, sample: rgba},
			pngSpec{name: fmt.Sprintf("rgba%d-neutral", d), w: w, h: h, ctype: 6, depth: d, sample: neutral},
		)
	}
	return specs
}

// wantGray is the colour space the streamed page should get.
func (s pngSpec) wantGray() bool {
	return s.ctype == 0 || s.ctype == 4 || strings.Contains(s.name, "neutral") || strings.Contains(s.name, "grey-entries")
}

// checkAgainstDecoder compares 8-bit samples (grey or RGB) with the image
// as Go's image/png decodes it, composited on white in floating point: a
// difference of up to half a level is rounding; where alpha is composited,
// the 16-bit intermediate may add another half.
func checkAgainstDecoder(t *testing.T, name string, pngData []byte, got []byte, gray bool) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("%s: image/png: %v", name, err)
	}
	b := img.Bounds()
	spp := 3
	if gray {
		spp = 1
	}
	if len(got) != spp*b.Dx()*b.Dy() {
		t.Errorf("%s: %d bytes of samples, want %d", name, len(got), spp*b.Dx()*b.Dy())
		return
	}
	bad := 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var v [4]float64 // non-premultiplied, 0..65535
			switch c := img.At(x, y).(type) {
			case color.NRGBA:
				v = [4]float64{float64(c.R) * 257, float64(c.G) * 257, float64(c.B) * 257, float64(c.A) * 257}
			case color.NRGBA64:
				v = [4]float64{float64(c.R), float64(c.G), float64(c.B), float64(c.A)}
			default:
				r, g, bl, a := c.RGBA()
				if a != 0xffff {
					t.Fatalf("%s: premultiplied %T with alpha", name, c)
				}
				v = [4]float64{float64(r), float64(g), float64(bl), 65535}
			}
			tol := 0.5 + 1e-9
			if v[3] != 65535 {
				tol = 1
			}
			for k := range 3 { // grey is checked against all three channels
				i := spp*(y*b.Dx()+x) + min(k, spp-1)
				want := (v[k]*v[3]/65535 + 65535 - v[3]) / 257
				if d := math.Abs(float64(got[i]) - want); d > tol {
					if bad++; bad <= 3 {
						t.Errorf("%s: pixel %d,%d channel %d is %d, want %.2f", name, x, y, k, got[i], want)
					}
				}
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d samples differ", name, bad)
	}
}

// streamed runs the streaming decoder on a PNG file and returns its
// inflated output.
func streamed(t *testing.T, path string) (gray bool, samples []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr, err := readPNGHeader(f, 1<<40)
	if err != nil {
		return false, nil, err
	}
	s := &pngStream{h: hdr, path: path}
	if gray, err = s.scan(f); err != nil {
		return false, nil, err
	}
	var z bytes.Buffer
	if err := s.encode(f, &z, gray); err != nil {
		t.Fatalf("encode after a good scan: %v", err)
	}
	zr, err := zlib.NewReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	samples, err = io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return gray, samples, nil
}

// TestStreamDecoder: the streaming decoder agrees with image/png on every
// format that needs decoding, at sizes where Adam7 passes are empty or
// ragged (1x1, 3x2, 9x9, ...).
func TestStreamDecoder(t *testing.T) {
	dir := t.TempDir()
	for _, size := range [][2]int{{1, 1}, {3, 2}, {1, 9}, {9, 1}, {9, 9}, {33, 17}} {
		for _, s := range streamSpecs(size[0], size[1]) {
			name := fmt.Sprintf("%s-%dx%d", s.name, size[0], size[1])
			data := s.encode()
			path := filepath.Join(dir, name+".png")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			gray, got, err := streamed(t, path)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if size[0]*size[1] > 100 && gray != s.wantGray() {
				t.Errorf("%s: grey %v, want %v", name, gray, s.wantGray())
			}
			checkAgainstDecoder(t, name, data, got, gray)
		}
	}
}

// TestStreamDecoderSuite: the PNG files of testdata (PngSuite and others:
// palettes, sub-byte grey, interlaced, 16-bit, alpha) stream to what
// image/png decodes; the broken ones are refused by both.
func TestStreamDecoderSuite(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.png"))
	if len(files) < 10 {
		t.Fatalf("%d PNG files in testdata", len(files))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, decErr := png.Decode(bytes.NewReader(data))
		gray, got, err := streamed(t, path)
		if (decErr == nil) != (err == nil) {
			t.Errorf("%s: image/png says %v, the stream says %v", path, decErr, err)
			continue
		}
		if err == nil {
			checkAgainstDecoder(t, path, data, got, gray)
		}
	}
}

// TestStreamDecoderCorrupt: damage found while scanning is a reason for
// the page, never a half-written stream.
func TestStreamDecoderCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := pngSpec{name: "rgba8", w: 40, h: 30, ctype: 6, depth: 8, interlaced: true,
		sample: func(x, y, c int) uint16 { return uint16(noise(x, y, c) & 0xff) }}
	zdata := func(raw []byte) []byte {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		return z.Bytes()
	}
	withIDAT := func(s pngSpec, z []byte) []byte { return s.file(z) }
	flat := good
	flat.interlaced = false
	rowLen := 1 + 4*flat.w
	badFilter := make([]byte, flat.h*rowLen)
	badFilter[5*rowLen] = 5
	cases := map[string]struct {
		data []byte
		want string
	}{
		"short":          {withIDAT(flat, zdata(make([]byte, flat.h*rowLen-1))), "not enough pixel data"},
		"long":           {withIDAT(flat, zdata(make([]byte, flat.h*rowLen+1))), "more pixel data"},
		"bad filter":     {withIDAT(flat, zdata(badFilter)), "bad filter type 5"},
		"bad checksum":   {withIDAT(flat, spoilAdler(zdata(make([]byte, flat.h*rowLen)))), "checksum"},
		"interlaced cut": {withIDAT(good, zdata(make([]byte, 100))), "not enough pixel data"},
	}
	for name, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".png")
		os.WriteFile(path, c.data, 0o644)
		_, _, err := streamed(t, path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "corrupt image: png: ") {
			t.Errorf("%s: err %v, want a corrupt-image reason containing %q", name, err, c.want)
		}
	}
}

// spoilAdler flips the last byte of a zlib stream's Adler-32.
func spoilAdler(z []byte) []byte {
	z[len(z)-1] ^= 0xff
	return z
}

// TestStreamedPages: through WriteFiles with a budget too small to decode
// them, big PNGs of each kind are streamed; the stored samples (Flate
// undone by qpdf) match image/png's decoding composited on white, the
// colour space is grey where every pixel is, and qpdf finds the file
// sound. One page is split into parts to go through the spill file.
func TestStreamedPages(t *testing.T) {
	dir := t.TempDir()
	budget := NewBudget(2 << 20) // a 1201x1001 page needs more decoded, less streamed
	var pages []Page
	var specs []pngSpec
	var encoded [][]byte
	// A few big pages; TestStreamDecoder covers every format at small sizes.
	some := map[string]bool{"rgba16-interlaced": true, "rgba8": true, "greyalpha16": true, "palette8-trns": true,
		"grey16-trns": true, "rgb8-interlaced": true, "rgba8-neutral": true, "palette1-interlaced-short": true}
	for _, s := range streamSpecs(1201, 1001) {
		if !some[s.name] {
			continue
		}
		delete(some, s.name)
		specs = append(specs, s)
		data := s.encode()
		encoded = append(encoded, data)
		path := filepath.Join(dir, s.name+".png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		hdr := pngSpecHeader(s)
		if pngDecodedBytes(hdr)+decodeSlack <= budget.Size() {
			t.Fatalf("%s: would be decoded, not streamed, within %d bytes", s.name, budget.Size())
		}
		pages = append(pages, Page{Path: path})
	}
	if len(some) > 0 {
		t.Fatalf("no specs named %v", some)
	}
	out := filepath.Join(dir, "streamed.pdf")
	files, st, err := WriteFiles(context.Background(), out, pages, Info{}, Options{Budget: budget, DPI: 72, MaxFileBytes: 64 << 20})
	if err != nil {
		t.Fatalf("%v (%+v)", err, st)
	}
	if len(st.Skipped) != 0 || st.Pages != len(pages) || len(files) != 1 {
		t.Fatalf("stats %+v, files %v", st, files)
	}
	qpdfCheck(t, out)
	list := strings.Split(strings.TrimSpace(run(t, "pdfimages", "-list", out)), "\n")[2:]
	if len(list) != len(specs) {
		t.Fatalf("pdfimages lists %d images, want %d", len(list), len(specs))
	}
	for i, s := range specs {
		f := strings.Fields(list[i])
		color := "rgb"
		if s.wantGray() {
			color = "gray"
		}
		if f[5] != color || f[7] != "8" {
			t.Errorf("%s: pdfimages says %q, want %s at 8 bpc", s.name, list[i], color)
		}
		raw, err := exec.Command(tool(t, "qpdf"), "--show-object="+f[10], "--filtered-stream-data", out).Output()
		if err != nil {
			t.Fatalf("%s: qpdf: %v", s.name, err)
		}
		checkAgainstDecoder(t, s.name, encoded[i], raw, s.wantGray())
	}
	if left := dirEntries(t, dir); len(left) != len(specs)+1 {
		t.Errorf("left in the directory: %v", left)
	}
}

// pngSpecHeader is the header of the PNG a spec encodes.
func pngSpecHeader(s pngSpec) *pngHeader {
	return &pngHeader{w: s.w, h: s.h, depth: s.depth, ctype: s.ctype, interlaced: s.interlaced, plte: s.plte, trns: s.trns}
}

// TestBudgetRefusals: a page that cannot be handled within the budget
// becomes a placeholder naming decode_memory; one that waits for memory
// held elsewhere gives up when the job is cancelled, failing the job
// rather than the page.
func TestBudgetRefusals(t *testing.T) {
	dir := t.TempDir()
	// A WebP or GIF has no streaming path: too big to decode is skipped.
	gifPath := filepath.Join(dir, "big.gif")
	pal := image.NewPaletted(image.Rect(0, 0, 1500, 1500), color.Palette{color.Black, color.White})
	f, _ := os.Create(gifPath)
	if err := gif.Encode(f, pal, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A PNG whose rows alone are more than the budget cannot be streamed.
	wide := pngSpec{name: "wide", w: 300000, h: 2, ctype: 6, depth: 16, sample: func(x, y, c int) uint16 { return 0xffff }}
	widePath := filepath.Join(dir, "wide.png")
	os.WriteFile(widePath, wide.encode(), 0o644)
	budget := NewBudget(2 << 20)
	pages := []Page{{Path: gifPath}, {Path: widePath}, {Path: td("video-001.jpeg")}}
	st, err := Write(context.Background(), io.Discard, pages, Info{}, Options{Budget: budget, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Pages != 3 || len(st.Skipped) != 2 {
		t.Fatalf("stats %+v", st)
	}
	for i, how := range []string{"decode: 1500x1500", "stream: 300000x2"} {
		if r := st.Skipped[i].Reason; !strings.HasPrefix(r, "image too large to "+how+" needs ") || !strings.Contains(r, "more than the decode memory of 2 MiB ([pdf] decode_memory)") {
			t.Errorf("page %d: reason %q", i+1, r)
		}
	}

	// All of the budget held by another job: the page waits, and a
	// cancelled job ends with the context's error.
	release, err := budget.take(context.Background(), budget.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	inner, cancel := context.WithCancel(context.Background())
	ctx := &cancelOnWait{Context: inner, cancel: cancel}
	small := pngSpec{name: "small", w: 64, h: 64, ctype: 6, depth: 8, sample: func(x, y, c int) uint16 { return uint16(x) }}
	smallPath := filepath.Join(dir, "small.png")
	os.WriteFile(smallPath, small.encode(), 0o644)
	done := make(chan error)
	go func() {
		_, err := Write(ctx, io.Discard, []Page{{Path: td("video-001.jpeg")}, {Path: smallPath}}, Info{}, Options{Budget: budget})
		done <- err
	}()
	if err := <-done; err != context.Canceled {
		t.Errorf("Write while the budget is held, cancelled: %v, want context.Canceled", err)
	}
}

// cancelOnWait cancels itself when something starts waiting on Done: the
// budget's semaphore does so only once it has to wait for memory, so the
// job is cancelled exactly while it waits.
type cancelOnWait struct {
	context.Context
	cancel func()
	once   sync.Once
}

func (c *cancelOnWait) Done() <-chan struct{} {
	c.once.Do(func() { go c.cancel() })
	return c.Context.Done()
}
