package mangathemesia

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestChapterFromReaderScript(t *testing.T) {
	doc := enginetest.Parse(t, "chapter.html", enginetest.SiteOrigin+"/infinite-level-up-chapter-124/")
	u := doc.Url
	if !Detect(doc) || !IsChapter(doc) {
		t.Fatalf("detect %v chapter %v", Detect(doc), IsChapter(doc))
	}
	got, err := Images(doc, u)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{enginetest.CDNOrigin + "/pages/ilu/124/00.webp", enginetest.CDNOrigin + "/pages/ilu/124/01.webp", enginetest.CDNOrigin + "/pages/ilu/124/02.webp"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images %q\nwant %q", got, want)
	}
	ci := ReadChapter(doc)
	if ci != (engine.Info{Series: "Infinite Level Up", Title: "Chapter 124", Number: "124"}) {
		t.Errorf("chapter info %+v", ci)
	}
}

func TestChapterDefaultSource(t *testing.T) {
	page := `<script>ts_reader.run({"sources":[{"source":"Server 1","images":["https:\/\/a.example\/1.jpg"]},{"source":"Server 2","images":["https:\/\/b.example\/1.jpg"]}],"defaultSource":"Server 2"});</script>`
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	u, _ := url.Parse(enginetest.SiteOrigin + "/x-chapter-1/")
	got, err := Images(doc, u)
	if err != nil || !reflect.DeepEqual(got, []string{"https://b.example/1.jpg"}) {
		t.Errorf("images %q err %v, want Server 2's", got, err)
	}
}

func TestChapterNovel(t *testing.T) {
	page := `<div id="readerarea"><p>Text.</p></div><script>ts_reader.run({"post_id":8008,"sources":[{"source":"default","images":[]}],"is_novel":true});</script>`
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	if _, err := Images(doc, &url.URL{Scheme: "https", Host: "reader.example", Path: "/"}); !errors.Is(err, ErrNovel) {
		t.Errorf("err %v, want ErrNovel", err)
	}
}

func TestChapterFromReaderArea(t *testing.T) {
	doc := enginetest.Parse(t, "chapter-dom.html", enginetest.SiteOrigin+"/infinite-level-up-chapter-2-5/")
	u := doc.Url
	got, err := Images(doc, u)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{enginetest.CDNOrigin + "/pages/ilu/2.5/00.jpg", enginetest.CDNOrigin + "/pages/ilu/2.5/01.jpg"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	if ci := ReadChapter(doc); ci.Number != "2.5" || ci.Series != "Infinite Level Up" {
		t.Errorf("chapter info %+v", ci)
	}
}

func TestSeries(t *testing.T) {
	doc := enginetest.Parse(t, "series.html", enginetest.SiteOrigin+"/series/infinite-level-up/")
	u := doc.Url
	if !Detect(doc) || IsChapter(doc) || !IsSeries(doc) {
		t.Fatalf("detect %v chapter %v series %v", Detect(doc), IsChapter(doc), IsSeries(doc))
	}
	s := ReadSeries(doc, u)
	if s.Title != "Infinite Level Up" {
		t.Errorf("title %q", s.Title)
	}
	var got []string
	for _, l := range engine.ReadingOrder(s.Links) {
		got = append(got, l.Number+" "+l.Title+" "+strings.TrimPrefix(l.URL, enginetest.SiteOrigin))
	}
	want := []string{
		"1 Chapter 1 /infinite-level-up-chapter-1/",
		"2 Chapter 2 /infinite-level-up-chapter-2/",
		"2.5 Chapter 2.5 /infinite-level-up-chapter-2-5/",
		"3 Chapter 3 /infinite-level-up-chapter-3/",
		"124 Chapter 124 /infinite-level-up-chapter-124/",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chapters\n%q\nwant\n%q", got, want)
	}
}

func TestDetectRefusesOtherEngines(t *testing.T) {
	for _, page := range []string{
		`<html><head><link rel="stylesheet" href="/wp-content/themes/madara/style.css"></head><body><div class="reading-content"><div class="page-break"><img class="wp-manga-chapter-img" src="/1.jpg"></div></div></body></html>`,
		`<html><head><meta name="generator" content="FoOlSlide 1.3.3"></head><body><script>var pages = [];</script></body></html>`,
	} {
		doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
		if Detect(doc) {
			t.Errorf("detected as MangaThemesia: %s", page)
		}
	}
}
