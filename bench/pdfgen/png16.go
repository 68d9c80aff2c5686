package main

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
)

// With -png16, pdfgen writes huge 16-bit RGBA PNG pages for
// bench/bigpng.sh: small files (a few MB) that decode to gigabytes, the
// pages a stranger's link can bring. Rows are encoded as they are made,
// so writing them takes little memory.

// chunkWriter cuts what is written into IDAT chunks.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for len(c.buf) >= 1<<20 {
		if err := chunk(c.w, "IDAT", c.buf[:1<<20]); err != nil {
			return 0, err
		}
		c.buf = c.buf[1<<20:]
	}
	return len(p), nil
}

func chunk(w io.Writer, typ string, data []byte) error {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	crc := crc32.NewIEEE()
	crc.Write(b[4:])
	crc.Write(data)
	if _, err := w.Write(b); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// png16Page makes a grey page with panels and a translucent speech balloon, so
// it is neither blank nor noise, stored as 16-bit RGBA with the Up filter.
func png16Page(path string, w, h, seed int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0)
	chunk(bw, "IHDR", ihdr)
	cw := &chunkWriter{w: bw}
	zw, _ := zlib.NewWriterLevel(cw, zlib.BestSpeed)
	row := make([]byte, 1+8*w)
	prev := make([]byte, 8*w)
	cur := make([]byte, 8*w)
	for y := range h {
		for x := range w {
			v := uint16(0xffff)
			if x%(w/3) < 40 || y%(h/4) < 40 { // panel borders
				v = 0x0800
			} else if (x/7+y/11+seed)%97 < 3 { // hatching
				v = uint16(0x4000 + (x*y)%0x2000)
			}
			a := uint16(0xffff)
			if dx, dy := x-w/2, y-h/3; dx*dx+4*dy*dy < (w/5)*(w/5) { // balloon
				a = 0xc000
			}
			p := cur[8*x : 8*x+8]
			binary.BigEndian.PutUint16(p[0:], v)
			binary.BigEndian.PutUint16(p[2:], v)
			binary.BigEndian.PutUint16(p[4:], v)
			binary.BigEndian.PutUint16(p[6:], a)
		}
		row[0] = 2 // Up
		for i := range cur {
			row[1+i] = cur[i] - prev[i]
		}
		if _, err := zw.Write(row); err != nil {
			return err
		}
		prev, cur = cur, prev
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if len(cw.buf) > 0 {
		chunk(bw, "IDAT", cw.buf)
	}
	chunk(bw, "IEND", nil)
	return bw.Flush()
}
