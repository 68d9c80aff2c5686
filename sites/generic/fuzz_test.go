package generic

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites"
)

// FuzzGallery: any HTML as a chapter page. Extraction never panics; it
// either fails with sites.ErrLayout or returns distinct absolute http(s)
// image URLs without fragments, each with the page as Referer; the title
// parts never hold line breaks.
func FuzzGallery(f *testing.F) {
	for _, name := range []string{"gallery.html", "gallery-base.html", "noimages.html", "rule-page1.html"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<base href="javascript:x"><div class=reading-content><img src="//cdn.example/1.jpg#a"><img srcset="a.jpg 1x, b.jpg 2x , c.svg 3x"><img data-src=" /2.webp "></div>`))
	f.Add([]byte(`<title>Series - Chapter 7.5: Title | Site</title><img src="data:image/png;base64,AA"><img src="x.jpg" width="1">`))
	page, _ := url.Parse("https://reader.example/series/ch-7")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		doc.Url = page
		pg := newPage(doc)
		series, number, title := pageTitle(doc, page.Host)
		for _, s := range []string{series, number, title} {
			if strings.ContainsAny(s, "\n\r\t") {
				t.Fatalf("title part %q holds whitespace controls", s)
			}
		}
		pages, err := galleryPages(pg)
		if err != nil {
			if !errors.Is(err, sites.ErrLayout) {
				t.Fatalf("error %v does not wrap ErrLayout", err)
			}
			return
		}
		if len(pages) == 0 {
			t.Fatal("no pages and no error")
		}
		seen := map[string]bool{}
		for _, p := range pages {
			u, err := url.Parse(p.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				t.Fatalf("page URL %q", p.URL)
			}
			if seen[p.URL] {
				t.Fatalf("page %q twice", p.URL)
			}
			seen[p.URL] = true
			if p.Header.Get("Referer") != page.String() {
				t.Fatalf("Referer %q", p.Header.Get("Referer"))
			}
		}
	})
}
