package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// realPages are real files of every format the writer takes, from Go's and
// x/image's test data (copied into pdf/testdata).
var realPages = []string{
	"video-001.jpeg", "video-001.progressive.jpeg", "video-005.gray.jpeg", "video-001.cmyk.jpeg",
	"video-001.png", "video-005.gray.png", "basn3p08.png", "basn0g16.png", "basn4a08.png", "basn6a16.png",
	"basn3p08-trns.png", "benchRGB-interlace.png", "video-001.gif", "video-001.lossy.webp",
	"blue-purple-pink.lossless.webp", "yellow_rose.lossy-with-alpha.webp", "video-001.bmp", "video-001.tiff",
}

// bombPNG is a valid PNG header claiming 50000×50000 pixels.
func bombPNG() []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 50000)
	binary.BigEndian.PutUint32(ihdr[4:], 50000)
	ihdr[8], ihdr[9] = 8, 2
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// A 30-page chapter of mixed real formats through the whole CLI, with the
// faults a real site produces: 500 twice, 429 with Retry-After, a reset
// connection, an HTML error page served as image/jpeg, a truncated JPEG, a
// decompression bomb and a page on a blocked address.
func TestFetchMixedChapterWithFaults(t *testing.T) {
	var bodies [][]byte
	for i := 0; len(bodies) < 24; i++ {
		b, err := os.ReadFile(filepath.Join("..", "..", "pdf", "testdata", realPages[i%len(realPages)]))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	jpg, _ := os.ReadFile(filepath.Join("..", "..", "pdf", "testdata", "video-001.jpeg"))
	const (
		fail500Twice = 2
		retryAfter   = 5
		reset        = 8
	)
	bad := map[int]func(w http.ResponseWriter){
		24: func(w http.ResponseWriter) { // HTML error page claiming to be a JPEG
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>Hotlinking is not allowed</body></html>")
		},
		25: func(w http.ResponseWriter) { w.Write(jpg[:len(jpg)/2]) }, // truncated JPEG
		26: func(w http.ResponseWriter) { w.Write(bombPNG()) },
		27: func(w http.ResponseWriter) { http.NotFound(w, nil) },
	}
	var mu sync.Mutex
	hits := map[int]int{}
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/read/ch-1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Mixed Bag Chapter 1</title></head><body><div class="reading-content">`)
		for i := 0; i < 28; i++ {
			fmt.Fprintf(w, `<img data-src="/p/%d">`, i)
		}
		// Two pages on addresses the guard must refuse (no traffic leaves:
		// the dial is refused before connecting).
		fmt.Fprint(w, `<img src="http://10.11.12.13/p/28.jpg"><img src="http://169.254.169.254/latest/meta-data.jpg">`)
		fmt.Fprint(w, `</div></body></html>`)
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		mu.Lock()
		hits[i]++
		n := hits[i]
		mu.Unlock()
		switch {
		case i == fail500Twice && n <= 2:
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		case i == retryAfter && n == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case i == reset && n == 1:
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		if f, ok := bad[i]; ok {
			f(w)
			return
		}
		w.Write(bodies[i])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	cfg := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(cfg, []byte("[download]\nallow_networks = [\"127.0.0.0/8\"]\nretries = 3\n[output]\nplaceholders = true\n"), 0o600)
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, srvURL+"/read/ch-1")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	files := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(files) != 1 {
		t.Fatalf("stdout: %q", r.stdout)
	}
	// 24 good pages + 6 placeholders (HTML, truncated, bomb, 404, 2 blocked).
	if n := pdfPages(t, files[0]); n != 30 {
		t.Fatalf("PDF has %d pages, want 30\n%s", n, r.stderr)
	}
	for _, want := range []string{
		"page 25 failed: not an image",
		"page 26 failed: corrupt image",
		"page 27 failed: image too large: 50000x50000",
		"page 28 failed: HTTP 404",
		"page 29 failed: blocked address 10.11.12.13",
		"page 30 failed: blocked address 169.254.169.254",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// The six missing pages are placeholders that say so, in place.
	needTool(t, "pdftotext")
	for _, pg := range []int{25, 26, 27, 28, 29, 30} {
		txt, err := exec.Command("pdftotext", "-f", strconv.Itoa(pg), "-l", strconv.Itoa(pg), files[0], "-").Output()
		if err != nil || !strings.Contains(string(txt), fmt.Sprintf("Page %d", pg)) {
			t.Errorf("page %d should be a placeholder naming it, got %q (%v)", pg, txt, err)
		}
	}
	if txt, _ := exec.Command("pdftotext", "-f", "1", "-l", "24", files[0], "-").Output(); strings.Contains(string(txt), "missing") {
		t.Errorf("good pages carry placeholder text: %q", txt)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits[fail500Twice] != 3 || hits[retryAfter] != 2 || hits[reset] < 2 {
		t.Errorf("retries: 500s %d, 429 %d, reset %d", hits[fail500Twice], hits[retryAfter], hits[reset])
	}
	if names := dirEntries(t, out); len(names) != 1 {
		t.Errorf("output dir: %v", names)
	}
}
