package engine

import (
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestImageURL(t *testing.T) {
	for markup, want := range map[string]string{
		"<img src=\"/wp-content/themes/madara/images/dflazy.jpg\" data-src=\"\n\t\t\t\n\t\t\thttps://cdn.example/1.jpg\" class=\"wp-manga-chapter-img\">": "https://cdn.example/1.jpg",
		`<img data-lazy-src=" https://cdn.example/2.jpg ">`:                                  "https://cdn.example/2.jpg",
		`<img srcset="https://cdn.example/3-600.jpg 600w, https://cdn.example/3.jpg 1200w">`: "https://cdn.example/3.jpg",
		`<img src="data:image/gif;base64,R0lGOD" data-src="https://cdn.example/4.jpg">`:      "https://cdn.example/4.jpg",
		`<img src="data:image/gif;base64,R0lGOD">`:                                           "",
		`<img src="  https://cdn.example/5.jpg">`:                                            "https://cdn.example/5.jpg",
	} {
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(markup))
		if err != nil {
			t.Fatal(err)
		}
		if got := ImageURL(doc.Find("img")); got != want {
			t.Errorf("%s: %q, want %q", markup, got, want)
		}
	}
}

func TestAbsolute(t *testing.T) {
	base, _ := url.Parse("https://reader.example/manga/x/chapter-1/")
	for raw, want := range map[string]string{
		"/wp-content/uploads/1.jpg":                                "https://reader.example/wp-content/uploads/1.jpg",
		"//cdn.example/2.jpg#frag":                                 "https://cdn.example/2.jpg",
		"javascript:alert(1)":                                      "",
		"/wp-content/themes/mangareader/assets/img/readerarea.svg": "",
		"": "",
	} {
		if got := Absolute(base, raw); got != want {
			t.Errorf("Absolute(%q) = %q, want %q", raw, got, want)
		}
	}
}
