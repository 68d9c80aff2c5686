package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/testtool"
)

// fakeMangaDex serves the MangaDex API fixtures of sites/mangadex/testdata
// (one chapter: "The Reading Room", vol. 2 ch. 7.5 of "The Library Beyond
// the Clouds", by Alpha Scans and Beta Scans, in English) and an @Home node
// with three real images: a JPEG, a PNG and a lossy WebP.
type fakeMangaDex struct {
	api, node *httptest.Server
	images    [][]byte
}

const mdChapter = "a1b2c3d4-0000-4000-8000-00000000c001"

func newFakeMangaDex(t *testing.T) *fakeMangaDex {
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "sites", "mangadex", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	md := &fakeMangaDex{}
	for _, f := range []string{"video-001.jpeg", "video-001.png", "video-001.lossy.webp"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "pdf", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		md.images = append(md.images, b)
	}
	page := regexp.MustCompile(`^/data/[0-9a-f]+/([123])-`)
	md.node = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := page.FindStringSubmatch(r.URL.Path)
		if m == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(md.images[m[1][0]-'1'])
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chapter/"+mdChapter, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture("chapter.json"))
	})
	mux.HandleFunc("GET /at-home/server/"+mdChapter, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.ReplaceAll(fixture("at_home.json"), []byte("{{BASE_URL}}"), []byte(md.node.URL)))
	})
	md.api = httptest.NewServer(mux)
	t.Cleanup(func() { md.api.Close(); md.node.Close() })
	return md
}

func (md *fakeMangaDex) config(t *testing.T, extra string) string {
	return writeConfig(t, "[sites.mangadex]\napi_url = \""+md.api.URL+"\"\nreport_url = \"\"\n"+extra)
}

func readArchive(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer zr.Close()
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in %s: %v", f.Name, path, err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

// `bot fetch -format cbz` on a MangaDex chapter: the pages as served, in
// order, and a ComicInfo.xml valid against the schema that carries the
// chapter's metadata.
func TestFetchCBZ(t *testing.T) {
	md := newFakeMangaDex(t)
	out := t.TempDir()
	r := run(t, context.Background(), "fetch", "-config", md.config(t, ""), "-format", "cbz", "-o", out, "https://mangadex.org/chapter/"+mdChapter)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	file := strings.TrimSpace(r.stdout)
	if filepath.Ext(file) != ".cbz" || !strings.Contains(r.stderr, "as CBZ") {
		t.Fatalf("stdout %q\n%s", r.stdout, r.stderr)
	}
	names, files := readArchive(t, file)
	if strings.Join(names, " ") != "001.jpg 002.png 003.webp ComicInfo.xml" {
		t.Fatalf("entries %v", names)
	}
	for i, n := range names[:3] {
		if !bytes.Equal(files[n], md.images[i]) {
			t.Errorf("%s is not the image served as page %d", n, i+1)
		}
	}
	testtool.ValidateXML(t, files["ComicInfo.xml"], filepath.Join("..", "..", "cbz", "testdata", "ComicInfo-2.1.xsd"))
	var ci struct {
		Title, Series, Number, Summary, Translator, ScanInformation, LanguageISO, Manga, Web string
		Volume, PageCount                                                                    int
	}
	if err := xml.Unmarshal(files["ComicInfo.xml"], &ci); err != nil {
		t.Fatal(err)
	}
	want := ci
	want.Title, want.Series, want.Number, want.Volume = "Vol. 2 Ch. 7.5: The Reading Room", "The Library Beyond the Clouds", "7.5", 2
	want.Summary = "A librarian keeps the last books of a floating city."
	want.Translator, want.ScanInformation, want.LanguageISO = "Alpha Scans, Beta Scans", "Alpha Scans, Beta Scans", "en"
	want.Manga, want.PageCount, want.Web = "YesAndRightToLeft", 3, "https://mangadex.org/chapter/"+mdChapter
	if ci != want {
		t.Errorf("ComicInfo\n got %+v\nwant %+v", ci, want)
	}
}

// `bot fetch -o x.epub` (the format from the extension): epubcheck passes,
// and the metadata and images are the chapter's.
func TestFetchEPUB(t *testing.T) {
	md := newFakeMangaDex(t)
	file := filepath.Join(t.TempDir(), "ch.epub")
	r := run(t, context.Background(), "fetch", "-config", md.config(t, ""), "-o", file, "https://mangadex.org/chapter/"+mdChapter)
	if r.code != 0 || strings.TrimSpace(r.stdout) != file {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	testtool.Epubcheck(t, file)
	_, files := readArchive(t, file)
	for i, n := range []string{"001.jpg", "002.png", "003.webp"} {
		if !bytes.Equal(files["OEBPS/images/"+n], md.images[i]) {
			t.Errorf("%s is not the image served as page %d", n, i+1)
		}
	}
	opf := string(files["OEBPS/content.opf"])
	for _, s := range []string{
		`<dc:title id="title">The Library Beyond the Clouds — Vol. 2 Ch. 7.5: The Reading Room</dc:title>`,
		`<dc:language>en</dc:language>`,
		`<meta property="belongs-to-collection" id="series">The Library Beyond the Clouds</meta>`,
		`<meta refines="#series" property="group-position">7.5</meta>`,
		`<dc:contributor id="c1">Alpha Scans</dc:contributor>`,
		`<dc:contributor id="c2">Beta Scans</dc:contributor>`,
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
	md := newFakeMangaDex(t)
	out := t.TempDir()
	cfg := md.config(t, "[output]\nformat = \"cbz\"\n")
	r := run(t, context.Background(), "fetch", "-config", cfg, "-o", filepath.Join(out, "x.pdf"), "https://mangadex.org/chapter/"+mdChapter)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	needTool(t, "pdfinfo")
	b, err := exec.Command("pdfinfo", filepath.Join(out, "x.pdf")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, b)
	}
	info := string(b)
	for _, s := range []string{"Title:           The Library Beyond the Clouds — Vol. 2 Ch. 7.5: The Reading Room", "Subject:         The Library Beyond the Clouds", "Author:          Alpha Scans, Beta Scans"} {
		if !strings.Contains(info, s) {
			t.Errorf("pdfinfo lacks %q:\n%s", s, info)
		}
	}
	// The configured default is cbz.
	r = run(t, context.Background(), "fetch", "-config", cfg, "-o", out, "https://mangadex.org/chapter/"+mdChapter)
	if r.code != 0 || filepath.Ext(strings.TrimSpace(r.stdout)) != ".cbz" {
		t.Fatalf("default format: exit %d, %q\n%s", r.code, r.stdout, r.stderr)
	}
	empty := t.TempDir()
	for _, args := range [][]string{
		{"-format", "mobi", "-o", empty},
		{"-format", "cbz", "-o", filepath.Join(empty, "x.epub")},
	} {
		r := run(t, context.Background(), append(append([]string{"fetch", "-config", cfg}, args...), "https://mangadex.org/chapter/"+mdChapter)...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "bot: ") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if names := dirEntries(t, empty); len(names) != 0 {
		t.Errorf("bad formats wrote %v", names)
	}
}
