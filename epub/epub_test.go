package epub

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/pdf"
)

var realPages = []string{"video-001.jpeg", "video-001.png", "video-001.gif", "video-001.lossy.webp", "basn4a08.png", "video-001.bmp"}

func testPages() []book.Page {
	return testtool.Pages(filepath.Join("..", "pdf", "testdata"), realPages...)
}

func testMeta() book.Meta {
	return book.Meta{
		Title: "Series — Ch. 12 to Ch. 13", Series: "Series & Co", Number: "12", Volume: "2",
		Summary: "A <summary>", Writers: []string{"Author A"}, Artists: []string{"Artist B"},
		Groups: []string{"Group One"}, Language: "pt-br", Web: "https://example.org/c/12?a=1&b=2",
		Keywords: []string{"manga"}, RightToLeft: true,
		Chapters: []book.Chapter{{Title: "Ch. 12: First", Start: 0}, {Title: "Ch. 13: Second", Start: 3}},
	}
}

func TestEPUB(t *testing.T) {
	pages := testPages()
	pages = append(pages[:2], append([]book.Page{{Err: errors.New("HTTP 404")}}, pages[2:]...)...)
	m := testMeta()
	m.Chapters[1].Start = 4
	out := filepath.Join(t.TempDir(), "ch.epub")
	names, st, err := writeFiles(context.Background(), out, pages, m, book.Options{Inspect: pdf.Inspector(0), Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || st.Pages != 7 || len(st.Skipped) != 1 {
		t.Fatalf("%v %+v", names, st)
	}
	testtool.Epubcheck(t, out)
	zf, files := testtool.ReadZip(t, out)
	if zf[0].Name != "mimetype" || zf[0].Method != zip.Store || string(files["mimetype"]) != "application/epub+zip" || len(zf[0].Extra) != 0 {
		t.Fatalf("first entry %s method %d extra %d", zf[0].Name, zf[0].Method, len(zf[0].Extra))
	}
	for i, want := range []string{"video-001.jpeg", "video-001.png", "", "video-001.gif", "video-001.lossy.webp", "basn4a08.png"} {
		if want == "" {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("..", "pdf", "testdata", want))
		ext := map[string]string{".jpeg": ".jpg"}[filepath.Ext(want)]
		if ext == "" {
			ext = filepath.Ext(want)
		}
		name := "OEBPS/images/" + []string{"001", "002", "003", "004", "005", "006"}[i] + ext
		if !bytes.Equal(files[name], b) {
			t.Errorf("%s is not %s", name, want)
		}
	}
	opf := string(files["OEBPS/content.opf"])
	for _, s := range []string{
		`<meta property="rendition:layout">pre-paginated</meta>`,
		`<spine page-progression-direction="rtl">`,
		`<dc:title id="title">Series — Ch. 12 to Ch. 13</dc:title>`,
		`<dc:language>pt-br</dc:language>`,
		`<meta property="belongs-to-collection" id="series">Series &amp; Co</meta>`,
		`<meta refines="#series" property="group-position">12</meta>`,
		`<dc:creator id="c1">Author A</dc:creator>`,
		`<dc:contributor id="c3">Group One</dc:contributor>`,
		`properties="cover-image"`,
		`<dc:source>https://example.org/c/12?a=1&amp;b=2</dc:source>`,
	} {
		if !strings.Contains(opf, s) {
			t.Errorf("OPF lacks %s\n%s", s, opf)
		}
	}
	if n := strings.Count(opf, "<itemref "); n != 7 {
		t.Errorf("%d spine items", n)
	}
	nav := string(files["OEBPS/nav.xhtml"])
	links := regexp.MustCompile(`<li><a href="([^"]+)">([^<]+)</a></li>`).FindAllStringSubmatch(nav, -1)
	if len(links) != 2 || links[0][1] != "pages/001.xhtml" || links[0][2] != "Ch. 12: First" || links[1][1] != "pages/005.xhtml" || links[1][2] != "Ch. 13: Second" {
		t.Errorf("nav: %q", links)
	}
	// The page is sized to its image (video-001 is 150×103).
	if p := string(files["OEBPS/pages/001.xhtml"]); !strings.Contains(p, `content="width=150, height=103"`) {
		t.Errorf("page 1:\n%s", p)
	}
	if p := string(files["OEBPS/pages/003.xhtml"]); !strings.Contains(p, "Page 3 is missing: HTTP 404") {
		t.Errorf("placeholder page:\n%s", p)
	}
}

// Parts each pass epubcheck, carry a table of contents starting with the
// chapter they continue, and stay under the limit.
func TestEPUBParts(t *testing.T) {
	var pages []book.Page
	for i := 0; i < 4; i++ {
		pages = append(pages, testPages()...)
	}
	m := testMeta()
	m.RightToLeft, m.Webtoon = false, true
	m.Chapters[1].Start = 12
	const limit = 64 << 10
	names, st, err := writeFiles(context.Background(), filepath.Join(t.TempDir(), "v.epub"), pages, m, book.Options{Inspect: pdf.Inspector(0), MaxFileBytes: limit})
	if err != nil || len(names) < 3 {
		t.Fatalf("parts %v: %v", names, err)
	}
	total := 0
	for i, n := range names {
		fi, _ := os.Stat(n)
		if fi.Size() > limit {
			t.Errorf("%s: %d bytes", n, fi.Size())
		}
		if i == 1 || i == len(names)-1 { // epubcheck takes seconds a run
			testtool.Epubcheck(t, n)
		}
		_, files := testtool.ReadZip(t, n)
		opf := string(files["OEBPS/content.opf"])
		if !strings.Contains(opf, `page-progression-direction="ltr"`) || !strings.Contains(opf, `<meta property="rendition:spread">none</meta>`) {
			t.Errorf("%s: direction/spread\n%s", n, opf)
		}
		total += strings.Count(opf, "<itemref ")
		if !strings.Contains(string(files["OEBPS/nav.xhtml"]), "<li><a href=\"pages/001.xhtml\">Ch. 1") {
			t.Errorf("%s: nav does not open on a chapter:\n%s", n, files["OEBPS/nav.xhtml"])
		}
	}
	if total != len(pages) || st.Pages != total {
		t.Errorf("%d pages in parts, %+v", total, st)
	}
}

// A WebP first page: the cover is its JPEG copy; epubcheck passes.
func TestEPUBWebPCover(t *testing.T) {
	out := filepath.Join(t.TempDir(), "w.epub")
	pages := testtool.Pages(filepath.Join("..", "pdf", "testdata"), "yellow_rose.lossy-with-alpha.webp", "video-001.jpeg")
	if _, _, err := writeFiles(context.Background(), out, pages, testMeta(), book.Options{Inspect: pdf.Inspector(0)}); err != nil {
		t.Fatal(err)
	}
	testtool.Epubcheck(t, out)
	_, files := testtool.ReadZip(t, out)
	opf := string(files["OEBPS/content.opf"])
	for _, s := range []string{
		`<item id="fb001" href="images/001-fallback.jpg" media-type="image/jpeg" properties="cover-image"/>`,
		`<item id="img001" href="images/001.webp" media-type="image/webp" fallback="fb001"/>`,
		`<meta name="cover" content="fb001"/>`,
	} {
		if !strings.Contains(opf, s) {
			t.Errorf("OPF lacks %s\n%s", s, opf)
		}
	}
	if _, err := jpeg.Decode(bytes.NewReader(files["OEBPS/images/001-fallback.jpg"])); err != nil {
		t.Errorf("fallback: %v", err)
	}
}

func writeFiles(ctx context.Context, path string, pages []book.Page, meta book.Meta, opts book.Options) ([]string, book.Stats, error) {
	return book.WriteFiles(ctx, path, pages, meta, opts, New)
}
