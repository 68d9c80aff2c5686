package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/pagegen"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
)

// site is a fake gallery: /chapter lists n images; /img/N serves them.
type site struct {
	*httptest.Server
	title     string // of the chapter page
	pages     [][]byte
	fail      map[int]int // page -> status to answer
	block     chan struct{}
	blockFrom int // pages from this one wait for block
	requests  atomic.Int64
	third     chan struct{} // closed by the third image request
	mu        sync.Mutex
	seen      []string
}

func newSite(t *testing.T, n int) *site {
	s := &site{title: "Test Series Chapter 3", fail: map[int]int{}, third: make(chan struct{}), blockFrom: 2}
	for i := 0; i < n; i++ {
		if i%3 == 2 {
			s.pages = append(s.pages, pngBytes(t, 60, 90))
		} else {
			s.pages = append(s.pages, jpegBytes(t, 60, 90, uint8(i)))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chapter", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, `<html><head><title>%s</title></head><body><header><img src="/logo.png" width="40" height="20"></header><div id="reader">`, s.title)
		for i := range s.pages {
			fmt.Fprintf(&b, `<img src="/img/%d">`, i)
		}
		b.WriteString(`</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Nothing</title></head><body><p>This reader moved.</p></body></html>`)
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		if s.requests.Add(1) == 3 {
			close(s.third)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/img/"))
		if err != nil || i >= len(s.pages) {
			http.NotFound(w, r)
			return
		}
		if s.block != nil && i >= s.blockFrom {
			select {
			case <-s.block:
			case <-r.Context().Done():
				return
			}
		}
		if code := s.fail[i]; code != 0 {
			http.Error(w, "no", code)
			return
		}
		w.Write(s.pages[i])
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestFetchWritesPDF(t *testing.T) {
	s := newSite(t, 7)
	cfg := writeConfig(t, "")
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1 || filepath.Dir(lines[0]) != out || filepath.Ext(lines[0]) != ".pdf" {
		t.Fatalf("stdout should be the one written path, got %q", r.stdout)
	}
	if n := pdfPages(t, lines[0]); n != 7 {
		t.Fatalf("pages: %d, want 7", n)
	}
	if names := dirEntries(t, out); len(names) != 1 {
		t.Fatalf("output dir should hold only the PDF: %v", names)
	}
	if got := s.requests.Load(); got != 7 {
		t.Errorf("site saw %d image requests, want 7 (the logo is a decoy)", got)
	}
}

func TestFetchNamedFileAndFailedPage(t *testing.T) {
	s := newSite(t, 5)
	s.fail[3] = http.StatusNotFound
	cfg := writeConfig(t, "[output]\nplaceholders = false\n")
	out := filepath.Join(t.TempDir(), "mine.pdf")
	r := run(t, context.Background(), "fetch", s.URL+"/chapter", "-config", cfg, "-o", out)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (written, some pages failed): %s", r.code, r.stderr)
	}
	if strings.TrimSpace(r.stdout) != out {
		t.Fatalf("stdout %q, want %q", r.stdout, out)
	}
	if !regexp.MustCompile(`page 4 failed: .*404`).MatchString(r.stderr) {
		t.Errorf("stderr should name the failed page and reason:\n%s", r.stderr)
	}
	if n := pdfPages(t, out); n != 4 {
		t.Fatalf("pages: %d, want the 4 good ones", n)
	}
}

func TestFetchPlaceholderPage(t *testing.T) {
	s := newSite(t, 4)
	s.fail[1] = http.StatusNotFound
	cfg := writeConfig(t, "[output]\nplaceholders = true\n")
	out := filepath.Join(t.TempDir(), "p.pdf")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (written with a placeholder): %s", r.code, r.stderr)
	}
	if n := pdfPages(t, out); n != 4 {
		t.Fatalf("pages: %d, want 4 (3 + a placeholder)", n)
	}
	txt := toolOutput(t, "pdftotext", "-f", "2", "-l", "2", out, "-")
	if !strings.Contains(txt, "Page 2") {
		t.Errorf("placeholder page should say which page is missing, got %q", txt)
	}
}

// Every failure: exit non-zero, one line on stderr, nothing on stdout,
// nothing left in the output directory.
func TestFetchFailuresAreOneLine(t *testing.T) {
	s := newSite(t, 3)
	allFail := newSite(t, 3)
	for i := 0; i < 3; i++ {
		allFail.fail[i] = http.StatusNotFound
	}
	cfg := writeConfig(t, "")
	blocked := filepath.Join(t.TempDir(), "blocked.toml")
	os.WriteFile(blocked, []byte("[download]\nretries = 0\n"), 0o600)
	for _, tc := range []struct {
		name, cfg, url, want string
	}{
		{"not a link", cfg, "chapter-12", "not a link"},
		{"ftp", cfg, "ftp://example.org/x", "not a link"},
		{"no images", cfg, s.URL + "/empty", "no chapter images found on " + s.URL + "/empty; if this site needs a rule, see [[sites.generic.rules]]"},
		{"all pages failed", cfg, allFail.URL + "/chapter", "failed"},
		{"blocked address", blocked, s.URL + "/chapter", "blocked address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := run(t, context.Background(), "fetch", "-config", tc.cfg, "-o", out, tc.url)
			if r.code == 0 {
				t.Fatalf("exit 0, stderr %s", r.stderr)
			}
			last := strings.Split(strings.TrimSpace(r.stderr), "\n")
			line := last[len(last)-1]
			if !strings.HasPrefix(line, "bot: ") || !strings.Contains(line, tc.want) {
				t.Errorf("last stderr line %q should be one clear error with %q", line, tc.want)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty, got %q", r.stdout)
			}
			if names := dirEntries(t, out); len(names) != 0 {
				t.Errorf("output dir not empty: %v", names)
			}
		})
	}
}

// SIGINT mid-download: requests stop, nothing is left behind.
func TestFetchInterruptLeavesNothing(t *testing.T) {
	s := newSite(t, 12)
	s.block = make(chan struct{})
	defer close(s.block)
	cfg := writeConfig(t, "")
	out := t.TempDir()
	cmd := botCommand(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Wait until pages are in flight (pages 0 and 1 are served, the rest
	// block): the site signals its third request. A fetch that exits
	// before then fails the test instead of leaving it waiting.
	select {
	case <-s.third:
	case err := <-done:
		t.Fatalf("fetch exited (%v) before its downloads were in flight: %s", err, errb.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("interrupted fetch exited 0")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("fetch did not stop after SIGINT")
	}
	if !strings.Contains(errb.String(), "cancelled") {
		t.Errorf("stderr should say cancelled: %s", errb.String())
	}
	if names := dirEntries(t, out); len(names) != 0 {
		t.Errorf("output dir not empty after interrupt: %v", names)
	}
}

func TestFetchCreatesOutputDir(t *testing.T) {
	s := newSite(t, 2)
	cfg := writeConfig(t, "")
	out := filepath.Join(t.TempDir(), "new", "dir")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 || filepath.Dir(strings.TrimSpace(r.stdout)) != out {
		t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	gone := filepath.Join(t.TempDir(), "never")
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", filepath.Join(gone, "sub"), s.URL+"/empty")
	if r.code == 0 {
		t.Fatal("empty page succeeded")
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("failed fetch left the directory it created: %v", err)
	}
}

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
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (written, some pages failed)\n%s", r.code, r.stderr)
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
	// Every count is right when it is printed: 4 pages failed to download
	// (HTML, 404, two blocked); the writer refused 2 more (truncated, bomb).
	if !strings.Contains(r.stderr, "\nbuilding pdf: 26/30 pages downloaded, 4 failed to download\n") ||
		!strings.Contains(r.stderr, "\n30 pages, 6 failed, ") {
		t.Errorf("counts:\n%s", r.stderr)
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

// `bot fetch -format cbz` on a MangaDex chapter: the pages as served, in
// order, and a ComicInfo.xml valid against the schema that carries the
// chapter's metadata.
func TestFetchCBZ(t *testing.T) {
	md := mdtest.New(t, mdtest.Options{Node: true, Reports: true})
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", writeConfig(t, md.Config()), "-format", "cbz", "-o", out, mdChapterLink)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	file := strings.TrimSpace(r.stdout)
	if filepath.Ext(file) != ".cbz" || !strings.Contains(r.stderr, "as CBZ") {
		t.Fatalf("stdout %q\n%s", r.stdout, r.stderr)
	}
	heads, files := testtool.ReadZip(t, file)
	names := testtool.Names(heads)
	if strings.Join(names, " ") != "001.jpg 002.png 003.webp ComicInfo.xml" {
		t.Fatalf("entries %v", names)
	}
	for i, n := range names[:3] {
		if !bytes.Equal(files[n], md.Pages()[i]) {
			t.Errorf("%s is not the image served as page %d", n, i+1)
		}
	}
	testtool.ValidateXML(t, files["ComicInfo.xml"], filepath.Join("..", "..", "cbz", "testdata", "ComicInfo-2.1.xsd"))
	var ci struct {
		Title, Series, Number, Summary, Writer, Penciller, Translator, ScanInformation, LanguageISO, Manga, Web string
		Volume, PageCount                                                                                       int
	}
	if err := xml.Unmarshal(files["ComicInfo.xml"], &ci); err != nil {
		t.Fatal(err)
	}
	want := ci
	want.Title, want.Series, want.Number, want.Volume = "Vol. 2 Ch. 7.5: The Reading Room", "The Library Beyond the Clouds", "7.5", 2
	want.Summary, want.Writer, want.Penciller = "A librarian keeps the last books of a floating city.", "Aoi Kumo", "Sora Ito"
	want.Translator, want.ScanInformation, want.LanguageISO = "Alpha Scans, Beta Scans", "Alpha Scans, Beta Scans", "en"
	want.Manga, want.PageCount, want.Web = "YesAndRightToLeft", 3, mdChapterLink
	if ci != want {
		t.Errorf("ComicInfo\n got %+v\nwant %+v", ci, want)
	}
}

// `bot fetch -o x.epub` (the format from the extension): epubcheck passes,
// and the metadata and images are the chapter's.
func TestFetchEPUB(t *testing.T) {
	md := mdtest.New(t, mdtest.Options{Node: true, Reports: true})
	file := filepath.Join(t.TempDir(), "ch.epub")
	r := run(t, context.Background(), "fetch", "-config", writeConfig(t, md.Config()), "-o", file, mdChapterLink)
	if r.code != 0 || strings.TrimSpace(r.stdout) != file {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	testtool.Epubcheck(t, file)
	_, files := testtool.ReadZip(t, file)
	for i, n := range []string{"001.jpg", "002.png", "003.webp"} {
		if !bytes.Equal(files["OEBPS/images/"+n], md.Pages()[i]) {
			t.Errorf("%s is not the image served as page %d", n, i+1)
		}
	}
	opf := string(files["OEBPS/content.opf"])
	for _, s := range []string{
		`<dc:title id="title">The Library Beyond the Clouds — Vol. 2 Ch. 7.5: The Reading Room</dc:title>`,
		`<dc:language>en</dc:language>`,
		`<meta property="belongs-to-collection" id="series">The Library Beyond the Clouds</meta>`,
		`<meta refines="#series" property="group-position">7.5</meta>`,
		`<dc:creator id="c1">Aoi Kumo</dc:creator>`,
		`<dc:creator id="c2">Sora Ito</dc:creator>`,
		`<dc:contributor id="c3">Alpha Scans</dc:contributor>`,
		`<dc:contributor id="c4">Beta Scans</dc:contributor>`,
		`<spine page-progression-direction="rtl">`,
	} {
		if !strings.Contains(opf, s) {
			t.Errorf("OPF lacks %s\n%s", s, opf)
		}
	}
	if n := strings.Count(opf, "<itemref "); n != 3 {
		t.Errorf("%d pages in the spine", n)
	}
}

// A PDF of the same chapter carries the metadata too; bad formats are one
// line and write nothing.
func TestFetchFormatPDFAndBadFormat(t *testing.T) {
	md := mdtest.New(t, mdtest.Options{Node: true, Reports: true})
	out := t.TempDir()
	cfg := writeConfig(t, md.Config()+"[output]\nformat = \"cbz\"\n")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", filepath.Join(out, "x.pdf"), mdChapterLink)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	needTool(t, "pdfinfo")
	b, err := exec.Command("pdfinfo", filepath.Join(out, "x.pdf")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, b)
	}
	info := string(b)
	for _, s := range []string{"Title:           The Library Beyond the Clouds — Vol. 2 Ch. 7.5: The Reading Room", "Subject:         The Library Beyond the Clouds", "Author:          Aoi Kumo, Sora Ito"} {
		if !strings.Contains(info, s) {
			t.Errorf("pdfinfo lacks %q:\n%s", s, info)
		}
	}
	// The configured default is cbz.
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", out, mdChapterLink)
	if r.code != 0 || filepath.Ext(strings.TrimSpace(r.stdout)) != ".cbz" {
		t.Fatalf("default format: exit %d, %q\n%s", r.code, r.stdout, r.stderr)
	}
	empty := t.TempDir()
	for _, args := range [][]string{
		{"-format", "mobi", "-o", empty},
		{"-format", "cbz", "-o", filepath.Join(empty, "x.epub")},
	} {
		r := run(t, context.Background(), append(append([]string{"fetch", "-config", cfg}, args...), mdChapterLink)...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "bot: ") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if names := dirEntries(t, empty); len(names) != 0 {
		t.Errorf("bad formats wrote %v", names)
	}
}

// scanChapter makes the site serve n scanned pages (JPEG quality 95,
// 1200×1700, about 820 KB each); page 2 is in colour.
func scanChapter(s *site, n int) (total int64) {
	s.pages = nil
	for i := range n {
		b := pagegen.JPEG(pagegen.Scan(1200, 1700, uint64(i), i == 1), 95)
		s.pages = append(s.pages, b)
		total += int64(len(b))
	}
	return total
}

// The case: a 25 MiB chapter and a 10 MiB budget give one file
// under the budget, every page in order, the similarity within the floor,
// the colour page in colour.
func TestFetchShrinkFitsBudget(t *testing.T) {
	s := newSite(t, 0)
	total := scanChapter(s, 32)
	if total < 24<<20 || total > 27<<20 {
		t.Fatalf("fixture is %d bytes, want about 25 MiB", total)
	}
	cfg := writeConfig(t, "")
	out := filepath.Join(t.TempDir(), "ch.pdf")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "-fit", "shrink", "-max-bytes", "10MiB", s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.TrimSpace(r.stdout) != out {
		t.Fatalf("want one file, got %q", r.stdout)
	}
	st, err := os.Stat(out)
	if err != nil || st.Size() > 10<<20 {
		t.Fatalf("file %v, %v: want at most 10 MiB", st.Size(), err)
	}
	m := regexp.MustCompile(`ch\.pdf: fitted (2\d\.\d) MiB → ([\d.]+) MiB, quality (\d+); similarity (0\.\d+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no fitted line:\n%s", r.stderr)
	}
	t.Logf("%s (file %d bytes)", m[0], st.Size())
	if q, _ := strconv.Atoi(m[3]); q < 50 || q >= 90 {
		t.Errorf("quality %d, want within [50, 90)", q)
	}
	if sim, _ := strconv.ParseFloat(m[4], 64); sim < 0.9 {
		t.Errorf("similarity %v below the 0.9 floor", sim)
	}
	if n := pdfPages(t, out); n != 32 {
		t.Fatalf("pages %d, want 32", n)
	}
	imgs := pdfImages(t, out)
	if len(imgs) != 32 {
		t.Fatalf("%d images, want 32", len(imgs))
	}
	for i, im := range imgs {
		want := "gray"
		if i == 1 {
			want = "rgb"
		}
		if im.page != i+1 || im.color != want || im.enc != "jpeg" || im.width != 1200 {
			t.Errorf("image %d: %+v, want page %d, %s jpeg 1200 wide", i, im, i+1, want)
		}
	}
	// In order: each page's image is nearest its own original.
	needTool(t, "pdfimages")
	dir := t.TempDir()
	if b, err := exec.Command("pdfimages", "-j", out, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages -j: %v %s", err, b)
	}
	for i := range 32 {
		got := decodeJPEGFile(t, filepath.Join(dir, fmt.Sprintf("p-%03d.jpg", i)))
		own := meanAbsDiff(got, s.pages[i])
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < 32 && meanAbsDiff(got, s.pages[j]) <= own {
				t.Errorf("PDF page %d is closer to original %d than to its own", i+1, j+1)
			}
		}
	}
}

// An impossible budget gives way to parts, with one clear line.
func TestFetchShrinkImpossibleGivesParts(t *testing.T) {
	s := newSite(t, 0)
	scanChapter(s, 8)
	cfg := writeConfig(t, "")
	dir := t.TempDir()
	out := filepath.Join(dir, "ch.pdf")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "-fit", "shrink", "-max-bytes", "1MiB", s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^.*: cannot shrink to 1 MiB: even quality 50 at 1200 px wide needs about [\d.]+ MiB; splitting into parts instead$`).MatchString(r.stderr) {
		t.Errorf("no fallback line:\n%s", r.stderr)
	}
	files := strings.Fields(r.stdout)
	if len(files) < 2 {
		t.Fatalf("want parts, got %q", r.stdout)
	}
	pages := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() > 1<<20 {
			t.Errorf("%s: %v bytes, %v", f, st.Size(), err)
		}
		pages += pdfPages(t, f)
	}
	if pages != 8 {
		t.Errorf("parts hold %d pages, want 8", pages)
	}
}

func TestFetchFitFlagErrors(t *testing.T) {
	s := newSite(t, 2)
	cfg := writeConfig(t, "")
	for args, want := range map[string]string{
		"-fit shrink":                  "-fit shrink needs -max-bytes",
		"-fit squeeze -max-bytes 1MiB": `-fit: unknown "squeeze"`,
		"-fit link":                    "-fit link is for the bot",
		"-max-bytes lots":              `-max-bytes: not a size: "lots"`,
		"-max-bytes 100":               "-max-bytes: at least 4 KiB",
	} {
		out := t.TempDir()
		r := run(t, context.Background(), append(append([]string{"fetch", "-config", cfg, "-o", out}, strings.Fields(args)...), s.URL+"/chapter")...)
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q, want one line with %q", args, r.code, r.stderr, want)
		}
		if names := dirEntries(t, out); len(names) != 0 {
			t.Errorf("%s: wrote %v", args, names)
		}
	}
}

// A webtoon episode of 40 slices (800×40,000 px) becomes pages cut at the
// blank gaps the fixture places; a valid PDF with every page within the
// PDF side limit.
func TestFetchStripCutsAtGaps(t *testing.T) {
	var gaps []pagegen.Gap
	for _, y := range []int{1250, 2450, 3790, 4985, 6200, 7500, 8800, 10100, 11300, 12600, 13900,
		15200, 16400, 17700, 19000, 20300, 21500, 22800, 24100, 25300, 26600, 27900, 29200,
		30400, 31700, 33000, 34300, 35500, 36800, 38100, 39300} {
		gaps = append(gaps, pagegen.Gap{From: y, To: y + 30})
	}
	strip := pagegen.Webtoon{Width: 800, Height: 40000, SliceHeight: 1000, Gaps: gaps}
	s := newSite(t, 0)
	for i := range strip.Slices() {
		s.pages = append(s.pages, pagegen.JPEG(strip.Slice(i), 90))
	}
	cfg := writeConfig(t, "")
	out := filepath.Join(t.TempDir(), "ep.pdf")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "-strip", s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	imgs := pdfImages(t, out)
	if n := pdfPages(t, out); n != len(imgs) || n < 20 || n > 40 {
		t.Fatalf("%d pages, %d images", n, len(imgs))
	}
	row := 0
	for i, im := range imgs {
		if im.width != 800 || im.height > 2*1280 || im.height < 1280/2 {
			t.Errorf("page %d is %dx%d", i+1, im.width, im.height)
		}
		row += im.height
		if i == len(imgs)-1 {
			break
		}
		at := false
		for _, g := range gaps {
			at = at || (row >= g.From && row < g.To)
		}
		if !at {
			t.Errorf("page %d ends at row %d, in no gap", i+1, row)
		}
	}
	if row != 40000 {
		t.Errorf("pages hold %d rows, want 40000", row)
	}
	needTool(t, "pdfinfo")
	info, err := exec.Command("pdfinfo", "-f", "1", "-l", "99", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`size: +([\d.]+) x ([\d.]+) pts`).FindAllStringSubmatch(string(info), -1) {
		if w, _ := strconv.ParseFloat(m[1], 64); w > 14400 {
			t.Errorf("page width %v pts", w)
		}
		if h, _ := strconv.ParseFloat(m[2], 64); h > 14400 {
			t.Errorf("page height %v pts", h)
		}
	}
}

// A flag without its value is named, with the usage status, and nothing
// is fetched.
func TestFetchMissingFlagValue(t *testing.T) {
	s := newSite(t, 2)
	cfg := writeConfig(t, "")
	for _, args := range [][]string{
		{"fetch", "-config", cfg, s.URL + "/chapter", "-o"},
		{"fetch", "-config", cfg, "-o", "-merge", s.URL + "/chapter"},
		{"fetch", s.URL + "/chapter", "-chapters"},
		{"fetch", s.URL + "/chapter", "-config"},
	} {
		r := run(t, context.Background(), args...)
		flagName := args[len(args)-1]
		if flagName == s.URL+"/chapter" {
			flagName = "-o"
		}
		want := "bot: flag " + flagName + " needs a value"
		if r.code != 2 || strings.TrimSpace(r.stderr) != want {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", args, r.code, r.stderr, want)
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("%d image requests", n)
	}
}

// -o FILE.pdf that exists is refused before anything is fetched, unless
// -overwrite; the directory mode never replaces (it picks "Name (2).pdf").
func TestFetchOverwrite(t *testing.T) {
	s := newSite(t, 2)
	cfg := writeConfig(t, "")
	out := filepath.Join(t.TempDir(), "mine.pdf")
	if err := os.WriteFile(out, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 1 || !strings.Contains(r.stderr, "bot: "+out+" exists (use -overwrite to replace it)") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" || s.requests.Load() != 0 {
		t.Fatalf("existing file changed (%q) or pages fetched (%d)", b, s.requests.Load())
	}
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "-overwrite", s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("-overwrite: exit %d: %s", r.code, r.stderr)
	}
	if n := pdfPages(t, out); n != 2 {
		t.Fatalf("replaced file has %d pages", n)
	}
	if names := dirEntries(t, filepath.Dir(out)); len(names) != 1 {
		t.Errorf("dir holds %v", names)
	}
}

// A title carrying a terminal escape, a bell and a right-to-left override
// reaches neither stderr nor the file name nor the PDF's title.
func TestFetchHostileTitle(t *testing.T) {
	s := newSite(t, 2)
	s.title = "Evil\x1b]0;pwned\x07 Series\u202eFdp.exe Chapter 7\x1b[2J"
	cfg := writeConfig(t, "")
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, s.URL+"/chapter")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(r.stderr+r.stdout, bad) {
			t.Errorf("output holds %q:\n%q", bad, r.stderr+r.stdout)
		}
	}
	want := filepath.Join(out, "Evil]0;pwned SeriesFdp.exe - Ch.7 - [2J.pdf")
	if strings.TrimSpace(r.stdout) != want {
		t.Fatalf("wrote %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "generic: Evil]0;pwned SeriesFdp.exe — Ch. 7: [2J, 2 pages") {
		t.Errorf("stderr should show the cleaned title:\n%s", r.stderr)
	}
	info := toolOutput(t, "pdfinfo", want)
	if !strings.Contains(info, "Title:           Evil]0;pwned SeriesFdp.exe — Ch. 7: [2J\n") {
		t.Errorf("PDF title:\n%s", info)
	}
}

// Without a terminal, a progress line comes at a steady interval while a
// stage lasts: the count after the first page shows although the second
// page takes long (the site holds it until the test has seen that line).
func TestFetchProgressWithoutTerminal(t *testing.T) {
	s := newSite(t, 2)
	s.block, s.blockFrom = make(chan struct{}), 1
	var once sync.Once
	release := func() { once.Do(func() { close(s.block) }) }
	defer release()
	cfg := writeConfig(t, "")
	cmd := botCommand(t, context.Background(), "fetch", "-config", cfg, "-o", t.TempDir(), s.URL+"/chapter")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var all []string
	timeout := time.After(60 * time.Second)
	for seen := false; !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("fetch ended before showing 1/2:\n%s", strings.Join(all, "\n"))
			}
			all = append(all, l)
			seen = strings.HasPrefix(l, "downloading: 1/2 pages, 0 failed, ")
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("no line showed the first page done:\n%s", strings.Join(all, "\n"))
		}
	}
	release()
	for l := range lines {
		all = append(all, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fetch: %v\n%s", err, strings.Join(all, "\n"))
	}
	if last := all[len(all)-1]; !strings.HasPrefix(last, "2 pages, 0 failed, ") {
		t.Errorf("last line %q", last)
	}
}

// SIGKILL mid-download leaves the run's work folder; the rerun resumes
// from its pages (fetching only the missing ones) and leaves only the PDF.
func TestFetchKilledThenRerun(t *testing.T) {
	s := newSite(t, 6)
	s.block = make(chan struct{})
	cfg := writeConfig(t, "")
	out := t.TempDir()
	args := []string{"fetch", "-config", cfg, "-o", out, s.URL + "/chapter"}
	cmd := botCommand(t, context.Background(), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Pages 0 and 1 are served, the others wait: kill once both are on disk.
	var got []string
	for end := time.Now().Add(60 * time.Second); len(got) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			cmd.Process.Kill()
			t.Fatalf("pages never reached the work folder: %v", dirEntries(t, out))
		}
		got, _ = filepath.Glob(filepath.Join(out, ".mangabot-job-*", "1", "page-000[12].*"))
	}
	cmd.Process.Kill()
	cmd.Wait()
	left := dirEntries(t, out)
	if len(left) != 1 || !strings.HasPrefix(left[0], ".mangabot-job-") {
		t.Fatalf("after SIGKILL: %v", left)
	}
	close(s.block)
	before := s.requests.Load()
	r := run(t, context.Background(), args...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d: %s", r.code, r.stderr)
	}
	if n := s.requests.Load() - before; n != 4 {
		t.Errorf("rerun made %d image requests, want the 4 missing pages", n)
	}
	names := dirEntries(t, out)
	if len(names) != 1 || filepath.Ext(names[0]) != ".pdf" {
		t.Fatalf("after the rerun the dir holds %v, want only the PDF", names)
	}
	if n := pdfPages(t, filepath.Join(out, names[0])); n != 6 {
		t.Errorf("%d pages", n)
	}
}

// NaN and Inf in a float key stop the command before anything is fetched,
// with one line naming the key (and the variable it came from).
func TestFetchRefusesNonFiniteConfig(t *testing.T) {
	s := newSite(t, 2)
	for _, tc := range []struct{ file, env, want string }{
		{"[output]\ndpi = nan\n", "", "output.dpi: must be a finite number, got NaN"},
		{"", "MANGABOT_DOWNLOAD_RATE=inf", "download.rate (from MANGABOT_DOWNLOAD_RATE): must be a finite number, got +Inf"},
	} {
		out := t.TempDir()
		cmd := botCommand(t, context.Background(), "fetch", "-config", writeConfig(t, tc.file), "-o", out, s.URL+"/chapter")
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%q %q: exit %v", tc.file, tc.env, err)
		}
		if got := strings.TrimSpace(errb.String()); !strings.HasPrefix(got, "bot: config") || !strings.HasSuffix(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("%q %q: stderr %q, want one line ending %q", tc.file, tc.env, got, tc.want)
		}
		if names := dirEntries(t, out); len(names) != 0 {
			t.Errorf("wrote %v", names)
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("%d image requests", n)
	}
}

// A Madara series on a host mangabot has never seen: the first page shows
// the engine, the chapter list comes from the AJAX endpoint, -chapters
// picks 1 and 10, and each PDF holds its chapter's pages, fetched from a
// CDN that refuses them without the reader's Referer. No decoration is
// fetched.
func TestFetchEngineSeries(t *testing.T) {
	const fx = "../../sites/madara/testdata/"
	cdn := enginetest.NewCDN(t)
	rd := enginetest.NewReader(t, cdn, map[string]enginetest.Route{
		"GET /manga/solo-hero/":                {File: fx + "series-ajax.html"},
		"POST /manga/solo-hero/ajax/chapters/": {File: fx + "ajax-chapters.html"},
		"GET /manga/solo-hero/chapter-10/":     {File: fx + "chapter.html"},
		"GET /manga/solo-hero/chapter-1/":      {File: fx + "chapter.html", Replace: []string{"/pages/solo-hero/10/", "/pages/solo-hero/1/"}},
		"GET /manga/solo-hero/chapter-2/":      {File: fx + "chapter.html", Replace: []string{"/pages/solo-hero/10/", "/pages/solo-hero/2/"}},
	})
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", writeConfig(t, ""), "-o", out, "-chapters", "1,10", rd.URL+"/manga/solo-hero/")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	files := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(files) != 2 {
		t.Fatalf("files %q\n%s", files, r.stderr)
	}
	for i, f := range files {
		if n := pdfPages(t, f); n != 3 {
			t.Errorf("%s: %d pages, want 3", f, n)
		}
		if want := []string{"Solo Hero - Ch.1.pdf", "Solo Hero - Ch.10 - The End.pdf"}[i]; filepath.Base(f) != want {
			t.Errorf("file %d is %s, want %s", i+1, filepath.Base(f), want)
		}
	}
	if !strings.Contains(r.stderr, "madara: Solo Hero — 2 chapters") {
		t.Errorf("stderr does not name the engine:\n%s", r.stderr)
	}
	if n1, n10 := cdn.Hits("/pages/solo-hero/1/"), cdn.Hits("/pages/solo-hero/10/"); n1 != 3 || n10 != 3 {
		t.Errorf("CDN served %d pages of chapter 1 and %d of chapter 10, want 3 and 3", n1, n10)
	}
	if n := cdn.Hits("/pages/solo-hero/2/") + cdn.Hits("/decoy/"); n != 0 {
		t.Errorf("%d images fetched that were not asked for (chapter 2, decoys)", n)
	}
	if refused := cdn.Refused(); len(refused) > 0 {
		t.Errorf("CDN refused %v", refused)
	}
}

// A page whose only images are decorations (logo, promotion, related
// thumbnail, cover) is an error of one line, with a non-zero exit and
// nothing written: never a PDF of decorations.
func TestFetchDecorationsOnly(t *testing.T) {
	cdn := enginetest.NewCDN(t)
	rd := enginetest.NewReader(t, cdn, map[string]enginetest.Route{
		"GET /infinite-level-up-chapter-124/": {File: "../../sites/generic/testdata/decoys-only.html"},
	})
	out := filepath.Join(t.TempDir(), "out")
	page := rd.URL + "/infinite-level-up-chapter-124/"
	r := run(t, context.Background(), "fetch", "-config", writeConfig(t, ""), "-o", out, page)
	if r.code == 0 {
		t.Fatalf("exit 0, stdout %q", r.stdout)
	}
	want := "no chapter images found on " + page + "; if this site needs a rule, see [[sites.generic.rules]]"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want it to say %q", r.stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output directory %s exists (%v): %v", out, err, dirEntries(t, out))
	}
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
}

// `bot fetch` of a MangaDex chapter served by an @Home node sends a
// MangaDex@Home report for every image before it exits, even when the
// report endpoint is slow (issue 11: 10-12 of 27 reports were sent, the
// process exiting before its queue drained). The API answers are the
// recorded fixtures of sites/mangadex.
func TestFetchMangaDexReportsSentBeforeExit(t *testing.T) {
	md := mdtest.New(t, mdtest.Options{Node: true, Reports: true, ReportDelay: 300 * time.Millisecond})
	cfg := writeConfig(t, md.Config())
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", out, mdChapterLink)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if n := pdfPages(t, strings.TrimSpace(r.stdout)); n != 3 {
		t.Errorf("PDF has %d pages, want 3", n)
	}
	md.CheckReports(t, 3, r.stderr)

	// A missing chapter: one line, the site and "not found" said once
	// (issue 11: "mangadex: not found: mangadex: ...").
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "https://mangadex.org/chapter/a1b2c3d4-0000-4000-8000-00000000c0ff")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if r.code == 0 || strings.Count(last, "mangadex") != 1 || strings.Count(strings.ToLower(last), "not found") != 1 {
		t.Errorf("missing chapter: exit %d, last line %q; want the site and \"not found\" once", r.code, last)
	}
}

// Without -o the file goes into the working directory (-o's default "."
// is a directory, though filepath.Ext(".") is "."): README's first
// command.
func TestFetchDefaultOutputIsWorkingDir(t *testing.T) {
	s := newSite(t, 3)
	cmd := botCommand(t, context.Background(), "fetch", "-config", writeConfig(t, ""), s.URL+"/chapter")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	names := dirEntries(t, cmd.Dir)
	if len(names) != 1 || filepath.Ext(names[0]) != ".pdf" {
		t.Fatalf("working dir holds %v, want one PDF", names)
	}
	if n := pdfPages(t, filepath.Join(cmd.Dir, names[0])); n != 3 {
		t.Errorf("pages: %d, want 3", n)
	}
}
