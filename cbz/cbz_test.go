package cbz

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/pdf"
	_ "golang.org/x/image/webp"
)

var xsd = filepath.Join("testdata", "ComicInfo-2.1.xsd")

// real pages of each format a site serves, from pdf/testdata.
var realPages = []string{"video-001.jpeg", "video-001.png", "video-001.gif", "video-001.lossy.webp", "basn4a08.png", "video-001.progressive.jpeg"}

func testPages(t *testing.T) []book.Page {
	return testtool.Pages(filepath.Join("..", "pdf", "testdata"), realPages...)
}

func testMeta() book.Meta {
	return book.Meta{
		Title: "Series — Vol. 2 Ch. 12: The Title", Series: "Series", Number: "12", Volume: "2",
		Summary: "A <summary> & more", Writers: []string{"Author A"}, Artists: []string{"Artist B"},
		Groups: []string{"Group One", "Group Two"}, Language: "en", Web: "https://example.org/chapter/12?a=1&b=2",
		RightToLeft: true,
		Chapters:    []book.Chapter{{Title: "Vol. 2 Ch. 12: The Title", Label: "12", Start: 0}},
	}
}

func parseInfo(t *testing.T, b []byte) comicInfo {
	t.Helper()
	var ci comicInfo
	if err := xml.Unmarshal(b, &ci); err != nil {
		t.Fatalf("ComicInfo.xml: %v\n%s", err, b)
	}
	return ci
}

func TestCBZ(t *testing.T) {
	pages := testPages(t)
	// A failed download and an HTML page saved as an image, in the middle.
	html := filepath.Join(t.TempDir(), "bad.jpg")
	os.WriteFile(html, []byte("<!DOCTYPE html><html>Hotlinking forbidden</html>"), 0o600)
	pages = append(pages[:3], append([]book.Page{{Err: errors.New("HTTP 404")}, {Path: html}}, pages[3:]...)...)
	out := filepath.Join(t.TempDir(), "ch12.cbz")
	names, st, err := writeFiles(context.Background(), out, pages, testMeta(), book.Options{Inspect: pdf.Inspector(0), Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != out || st.Pages != len(pages) || len(st.Skipped) != 2 {
		t.Fatalf("names %v, stats %+v", names, st)
	}
	heads, files := testtool.ReadZip(t, out)
	order := testtool.Names(heads)
	for _, f := range heads {
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want stored", f.Name, f.Method)
		}
	}
	want := []string{"001.jpg", "002.png", "003.gif", "004.png", "005.png", "006.webp", "007.png", "008.jpg", "ComicInfo.xml"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %v, want %v", order, want)
	}
	// Images are the downloaded bytes, in order.
	src := map[string]string{"001.jpg": realPages[0], "002.png": realPages[1], "003.gif": realPages[2], "006.webp": realPages[3], "007.png": realPages[4], "008.jpg": realPages[5]}
	for name, file := range src {
		b, _ := os.ReadFile(filepath.Join("..", "pdf", "testdata", file))
		if !bytes.Equal(files[name], b) {
			t.Errorf("%s differs from %s", name, file)
		}
	}
	testtool.ValidateXML(t, files["ComicInfo.xml"], xsd)
	ci := parseInfo(t, files["ComicInfo.xml"])
	if ci.Series != "Series" || ci.Number != "12" || ci.Volume == nil || *ci.Volume != 2 || ci.Title != "Vol. 2 Ch. 12: The Title" ||
		ci.Summary != "A <summary> & more" || ci.Writer != "Author A" || ci.Penciller != "Artist B" ||
		ci.Translator != "Group One, Group Two" || ci.ScanInformation != "Group One, Group Two" ||
		ci.Web != "https://example.org/chapter/12?a=1&b=2" || ci.LanguageISO != "en" || ci.Manga != "YesAndRightToLeft" ||
		ci.PageCount != 8 || len(ci.Pages) != 8 {
		t.Errorf("ComicInfo: %+v", ci)
	}
	for i, p := range ci.Pages {
		name := order[i]
		cfg, _, err := image.DecodeConfig(bytes.NewReader(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Image != i || p.ImageWidth != cfg.Width || p.ImageHeight != cfg.Height || p.ImageSize != int64(len(files[name])) {
			t.Errorf("page %d: %+v, file %s %dx%d %d bytes", i, p, name, cfg.Width, cfg.Height, len(files[name]))
		}
		wantType := ""
		switch i {
		case 0:
			wantType = "FrontCover"
		case 3, 4:
			wantType = "Other"
		}
		if p.Type != wantType {
			t.Errorf("page %d: type %q, want %q", i, p.Type, wantType)
		}
	}
	for _, s := range []string{"004.png: page 4 is missing (HTTP 404)", "005.png: page 5 is missing (not an image)"} {
		if !strings.Contains(ci.Notes, s) {
			t.Errorf("Notes lack %q: %q", s, ci.Notes)
		}
	}
}

// Merged chapters bookmark each chapter's first page; left-to-right
// webtoons are not marked as manga.
func TestCBZChaptersAndWebtoon(t *testing.T) {
	m := testMeta()
	m.RightToLeft, m.Webtoon, m.Volume = false, true, "TBD"
	m.Chapters = []book.Chapter{{Title: "Ch. 1", Start: 0}, {Title: "Ch. 2", Start: 2}, {Title: "Ch. 3", Start: 4}}
	out := filepath.Join(t.TempDir(), "v.cbz")
	pages := testPages(t)
	pages[2] = book.Page{Err: errors.New("HTTP 500")} // chapter 2's first page fails, unreplaced
	if _, _, err := writeFiles(context.Background(), out, pages, m, book.Options{Inspect: pdf.Inspector(0)}); err != nil {
		t.Fatal(err)
	}
	_, files := testtool.ReadZip(t, out)
	testtool.ValidateXML(t, files["ComicInfo.xml"], xsd)
	ci := parseInfo(t, files["ComicInfo.xml"])
	if ci.Manga != "No" || ci.Volume != nil || ci.Format != "Web Comic" || ci.PageCount != 5 || ci.Title != m.Title {
		t.Errorf("ComicInfo: %+v", ci)
	}
	var marks []string
	for _, p := range ci.Pages {
		marks = append(marks, p.Bookmark)
	}
	if got := strings.Join(marks, "|"); got != "Ch. 1||Ch. 2|Ch. 3|" {
		t.Errorf("bookmarks %q", got)
	}
}

// Split at a size limit, every part is a complete archive under the limit
// with its own ComicInfo.xml, and together they hold every page in order.
func TestCBZParts(t *testing.T) {
	var pages []book.Page
	for i := 0; i < 4; i++ {
		pages = append(pages, testPages(t)...)
	}
	const limit = 60 << 10
	out := filepath.Join(t.TempDir(), "ch.cbz")
	names, st, err := writeFiles(context.Background(), out, pages, testMeta(), book.Options{Inspect: pdf.Inspector(0), MaxFileBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 3 || names[1] != filepath.Join(filepath.Dir(out), "ch-part2.cbz") {
		t.Fatalf("parts %v", names)
	}
	total := 0
	var sum int64
	for i, n := range names {
		fi, _ := os.Stat(n)
		sum += fi.Size()
		if fi.Size() > limit {
			t.Errorf("%s: %d bytes > %d", n, fi.Size(), limit)
		}
		heads, files := testtool.ReadZip(t, n)
		testtool.ValidateXML(t, files["ComicInfo.xml"], xsd)
		ci := parseInfo(t, files["ComicInfo.xml"])
		if ci.PageCount != len(heads)-1 || ci.Pages[0].Type != "FrontCover" || (i > 0) != strings.HasSuffix(ci.Title, ")") {
			t.Errorf("%s: %+v", n, ci)
		}
		for k, f := range heads[:len(heads)-1] {
			b, _ := os.ReadFile(pages[total+k].Path)
			if !bytes.Equal(files[f.Name], b) {
				t.Errorf("%s %s is not page %d", n, f.Name, total+k+1)
			}
		}
		total += ci.PageCount
	}
	if total != len(pages) || st.Pages != total || st.Bytes != sum {
		t.Errorf("%d pages in parts, %+v, bytes on disk %d", total, st, sum)
	}
}

func TestCBZNothingUsable(t *testing.T) {
	dir := t.TempDir()
	pages := []book.Page{{Err: errors.New("HTTP 404")}, {Err: errors.New("HTTP 404")}}
	_, _, err := writeFiles(context.Background(), filepath.Join(dir, "x.cbz"), pages, testMeta(), book.Options{Inspect: pdf.Inspector(0), Placeholders: true})
	if !errors.Is(err, book.ErrNoPages) {
		t.Fatalf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := writeFiles(ctx, filepath.Join(dir, "y.cbz"), testPages(t), testMeta(), book.Options{Inspect: pdf.Inspector(0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func writeFiles(ctx context.Context, path string, pages []book.Page, meta book.Meta, opts book.Options) ([]string, book.Stats, error) {
	return book.WriteFiles(ctx, path, pages, meta, opts, New)
}
