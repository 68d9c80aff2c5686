package foolslide

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestReader(t *testing.T) {
	doc := enginetest.Parse(t, "read.html", enginetest.SiteOrigin+"/slide/read/lonely_knight/en/2/10/page/1")
	u := doc.Url
	if !Detect(doc) || !IsChapter(doc) || IsAdultGate(doc) {
		t.Fatalf("detect %v chapter %v gate %v", Detect(doc), IsChapter(doc), IsAdultGate(doc))
	}
	dir := enginetest.CDNOrigin + "/slide/content/comics/lonely_knight_5a1b/2_10_0_the_end_9c2e/"
	want := []string{dir + "01.png", dir + "02.png", dir + "03.png"}
	if got := Images(doc, u); !reflect.DeepEqual(got, want) {
		t.Errorf("images %q\nwant %q", got, want)
	}
	ci := ReadChapter(doc)
	if ci != (engine.Info{Series: "Lonely Knight", Title: "Vol.2 Chapter 10: The End", Number: "10", Volume: "2"}) {
		t.Errorf("chapter info %+v", ci)
	}
}

func TestReaderBase64(t *testing.T) {
	list := `[{"id":1,"url":"https:\/\/cdn.example\/1.png","thumb_url":"https:\/\/cdn.example\/thumb_1.png"},{"id":2,"url":"https:\/\/cdn.example\/2.png"}]`
	page := `<div class="topbar"><h1 class="tbtitle dnone"></h1></div><script>var pages = JSON.parse(atob("` + base64.StdEncoding.EncodeToString([]byte(list)) + `"));</script>`
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	u, _ := url.Parse(enginetest.SiteOrigin + "/read/x/en/0/1/")
	if got := Images(doc, u); !reflect.DeepEqual(got, []string{"https://cdn.example/1.png", "https://cdn.example/2.png"}) {
		t.Errorf("images %q", got)
	}
	if !Detect(doc) {
		t.Error("not detected")
	}
}

func TestSeries(t *testing.T) {
	doc := enginetest.Parse(t, "series.html", enginetest.SiteOrigin+"/slide/series/lonely_knight/")
	u := doc.Url
	if !Detect(doc) || IsChapter(doc) || !IsSeries(doc) {
		t.Fatalf("detect %v chapter %v series %v", Detect(doc), IsChapter(doc), IsSeries(doc))
	}
	s := ReadSeries(doc, u)
	if s.Title != "Lonely Knight" {
		t.Errorf("title %q", s.Title)
	}
	var got []string
	for _, l := range engine.ReadingOrder(s.Links) {
		got = append(got, l.Number+" "+strings.TrimPrefix(l.URL, enginetest.SiteOrigin))
	}
	want := []string{"1 /slide/read/lonely_knight/en/1/1/", "2 /slide/read/lonely_knight/en/1/2/", "2.5 /slide/read/lonely_knight/en/1/2/5/", "3 /slide/read/lonely_knight/en/1/3/", "10 /slide/read/lonely_knight/en/2/10/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chapters\n%q\nwant\n%q", got, want)
	}
}

func TestAdultGate(t *testing.T) {
	doc := enginetest.Parse(t, "adult.html", enginetest.SiteOrigin+"/slide/series/lonely_knight/")
	if !Detect(doc) || !IsAdultGate(doc) || IsChapter(doc) || IsSeries(doc) {
		t.Errorf("detect %v gate %v chapter %v series %v", Detect(doc), IsAdultGate(doc), IsChapter(doc), IsSeries(doc))
	}
}

func TestParsePath(t *testing.T) {
	for p, want := range map[string]Path{
		"/slide/read/lonely_knight/en/2/10/page/3":  {Root: "/slide/", Series: "lonely_knight", Lang: "en", Volume: "2", Number: "10"},
		"/read/lonely_knight/en/1/2/5/":             {Root: "/", Series: "lonely_knight", Lang: "en", Volume: "1", Number: "2.5"},
		"/read/lonely_knight/en/0/7/example_scans/": {Root: "/", Series: "lonely_knight", Lang: "en", Volume: "0", Number: "7"},
	} {
		got, ok := ParsePath(p)
		if !ok || got != want {
			t.Errorf("ParsePath(%q) = %+v %v, want %+v", p, got, ok, want)
		}
	}
	for _, p := range []string{"/series/lonely_knight/", "/read/lonely_knight/en/", "/read/x/en/0/abc/"} {
		if _, ok := ParsePath(p); ok {
			t.Errorf("ParsePath(%q) accepted", p)
		}
	}
	rp, _ := ParsePath("/slide/read/lonely_knight/en/2/10/")
	if rp.SeriesPath() != "/slide/series/lonely_knight/" {
		t.Errorf("series path %q", rp.SeriesPath())
	}
}

func TestDetectRefusesOtherEngines(t *testing.T) {
	for _, page := range []string{
		`<html><head><link rel="stylesheet" href="/wp-content/themes/madara/style.css"></head><body><div class="reading-content"><img class="wp-manga-chapter-img" src="/1.jpg"></div></body></html>`,
		`<html><body><div id="readerarea"></div><script>ts_reader.run({"sources":[]});</script></body></html>`,
		`<html><body><script>var pages = [1,2,3];</script></body></html>`,
	} {
		doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
		if Detect(doc) {
			t.Errorf("detected as FoOlSlide: %s", page)
		}
	}
}
