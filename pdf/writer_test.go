package pdf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/book"
)

func TestPageSizeDefaultsAndTallStrip(t *testing.T) {
	dir := t.TempDir()
	strip := filepath.Join(dir, "strip.png")
	img := image.NewGray(image.Rect(0, 0, 800, 30000))
	for y := 0; y < 30000; y++ {
		for x := 0; x < 800; x++ {
			img.Pix[y*800+x] = byte(x ^ y)
		}
	}
	f, _ := os.Create(strip)
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out.pdf")
	// Default options: 96 dpi, 14400-unit side limit.
	pages := []Page{{Path: td("video-001.jpeg")}, {Path: strip}}
	if _, _, err := WriteFiles(context.Background(), out, pages, Info{}, Options{}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	sizes := pageSizes(t, out)
	want := [][2]float64{{112.5, 77.25}, {384, 14400}} // 150x103 px at 96 dpi; 600x22500 scaled to fit
	if fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("page sizes %v, want %v", sizes, want)
	}
}

func TestInfo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "info.pdf")
	info := Info{
		Title:        "進撃の巨人 — 第1話",
		Author:       `Group (scans) \ site`,
		Subject:      "https://example.com/manga/1",
		Keywords:     "manga, 漫画",
		Creator:      "mangabot",
		Producer:     "mangabot test",
		CreationDate: time.Date(2024, 3, 5, 10, 20, 30, 0, time.FixedZone("JST", 9*3600)),
	}
	if _, _, err := WriteFiles(context.Background(), out, []Page{{Path: td("video-001.jpeg")}}, info, Options{}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	o := run(t, "pdfinfo", "-isodates", out)
	for k, v := range map[string]string{
		"Title": info.Title, "Author": info.Author, "Subject": info.Subject, "Keywords": info.Keywords,
		"Creator": info.Creator, "Producer": info.Producer, "CreationDate": "2024-03-05T10:20:30+09",
	} {
		if got := infoField(o, k); !strings.HasPrefix(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// qpdfJSON is the part of `qpdf --json` the metadata tests read.
type qpdfJSON struct {
	Outlines []struct {
		Title string `json:"title"`
		Dest  []any  `json:"dest"`
		Page  int    `json:"destpageposfrom1"`
	} `json:"outlines"`
	PageLabels []struct {
		Index int            `json:"index"`
		Label map[string]any `json:"label"`
	} `json:"pagelabels"`
	Qpdf []map[string]any `json:"qpdf"`
}

func inspectPDF(t *testing.T, path string) qpdfJSON {
	t.Helper()
	out := run(t, "qpdf", "--json=2", "--json-key=outlines", "--json-key=pagelabels", "--json-key=qpdf", path)
	var j qpdfJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("qpdf --json: %v\n%s", err, out)
	}
	return j
}

// catalog is the document catalog's dictionary as qpdf decodes it.
func catalog(t *testing.T, j qpdfJSON) map[string]any {
	t.Helper()
	objs, _ := j.Qpdf[1]["obj:2 0 R"].(map[string]any)
	cat, _ := objs["value"].(map[string]any)
	if cat == nil {
		t.Fatalf("no catalog in %v", j.Qpdf)
	}
	return cat
}

// Merged chapters: the information dictionary, one bookmark per chapter
// on its first page, page labels per chapter and right-to-left reading.
func TestMetadataOutlineAndLabels(t *testing.T) {
	pages := []Page{
		{Path: td("video-001.jpeg")}, {Path: td("video-001.png")}, // Ch. 12
		{Err: errors.New("HTTP 404")}, {Path: td("video-001.gif")}, {Path: td("video-001.jpeg")}, // Ch. 12.5, placeholder first
		{Path: td("video-005.gray.jpeg")}, // Ch. 13
	}
	info := Info{
		Title: "Series — Vol. 2", Author: "Author A, Artist B", Subject: "Series", Keywords: "manga, en, Group",
		Creator: "mangabot", Producer: "mangabot test", CreationDate: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC),
		Chapters: []book.Chapter{
			{Title: "Ch. 12: Début", Label: "12", Start: 0},
			{Title: "Ch. 12.5", Label: "12.5", Start: 2},
			{Title: "Ch. 13", Label: "13", Start: 5},
		},
		RightToLeft: true,
	}
	out := filepath.Join(t.TempDir(), "v2.pdf")
	if _, _, err := WriteFiles(context.Background(), out, pages, info, Options{Placeholders: true}); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, out)
	pi := run(t, "pdfinfo", out)
	for k, v := range map[string]string{"Title": info.Title, "Author": info.Author, "Subject": "Series", "Keywords": info.Keywords, "Producer": "mangabot test", "Pages": "6"} {
		if got := infoField(pi, k); got != v {
			t.Errorf("pdfinfo %s = %q, want %q", k, got, v)
		}
	}
	j := inspectPDF(t, out)
	var got []string
	for _, o := range j.Outlines {
		got = append(got, fmt.Sprintf("%s@%d", o.Title, o.Page))
	}
	if strings.Join(got, "|") != "Ch. 12: Début@1|Ch. 12.5@3|Ch. 13@6" {
		t.Errorf("outline %q", got)
	}
	var labels []string
	for _, l := range j.PageLabels {
		labels = append(labels, fmt.Sprintf("%d:%v:%v", l.Index, l.Label["/P"], l.Label["/St"]))
	}
	if strings.Join(labels, " ") != "0:u:12-:1 2:u:12.5-:1 5:u:13-:1" {
		t.Errorf("page labels %q", labels)
	}
	cat := catalog(t, j)
	if vp, _ := cat["/ViewerPreferences"].(map[string]any); vp["/Direction"] != "/R2L" || cat["/PageMode"] != "/UseOutlines" {
		t.Errorf("catalog %v", cat)
	}
}

// A single chapter has labels 1..n and no outline; left to right has no
// direction. Parts continue the numbering and the outline of the chapter
// they open in.
func TestMetadataParts(t *testing.T) {
	dir := t.TempDir()
	pages, _ := splitPages(t, dir, 14)
	info := Info{Title: "one", Chapters: []book.Chapter{{Title: "Ch. 1", Label: "1", Start: 0}}}
	paths, _, err := WriteFiles(context.Background(), filepath.Join(dir, "one.pdf"), pages, info, Options{DPI: 72, MaxFileBytes: splitLimit, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("parts %v", paths)
	}
	next := 1
	for _, p := range paths {
		j := inspectPDF(t, p)
		cat := catalog(t, j)
		if len(j.Outlines) != 0 || cat["/ViewerPreferences"] != nil {
			t.Errorf("%s: outline %v, catalog %v", p, j.Outlines, cat)
		}
		st := 1.0
		if len(j.PageLabels) != 1 || j.PageLabels[0].Label["/P"] != nil {
			t.Fatalf("%s: labels %v", p, j.PageLabels)
		}
		if v, ok := j.PageLabels[0].Label["/St"].(float64); ok {
			st = v
		}
		if int(st) != next {
			t.Errorf("%s starts at label %v, want %d", p, st, next)
		}
		n := len(pageSizes(t, p))
		next += n
	}

	// Merged and split: each part's outline starts with the chapter its
	// first page belongs to.
	info.Chapters = []book.Chapter{{Title: "Ch. 1", Label: "1", Start: 0}, {Title: "Ch. 2", Label: "2", Start: 8}}
	paths, _, err = WriteFiles(context.Background(), filepath.Join(dir, "two.pdf"), pages, info, Options{DPI: 72, MaxFileBytes: splitLimit, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for _, p := range paths {
		qpdfCheck(t, p)
		j := inspectPDF(t, p)
		if len(j.Outlines) == 0 || j.Outlines[0].Page != 1 {
			t.Fatalf("%s: outline %v", p, j.Outlines)
		}
		first = append(first, j.Outlines[0].Title)
	}
	if first[0] != "Ch. 1" || first[len(first)-1] != "Ch. 2" {
		t.Errorf("parts open on %v", first)
	}
}
