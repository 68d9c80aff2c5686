package madara

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

func TestChapterListStyle(t *testing.T) {
	doc := enginetest.Parse(t, "chapter.html", enginetest.SiteOrigin+"/manga/solo-hero/chapter-10/")
	if !Detect(doc) || !IsChapter(doc) {
		t.Fatalf("detect %v, chapter %v", Detect(doc), IsChapter(doc))
	}
	got, paged, err := Images(doc, doc.Url)
	if err != nil || paged {
		t.Fatalf("paged %v, err %v", paged, err)
	}
	want := []string{enginetest.CDNOrigin + "/pages/solo-hero/10/01.jpg", enginetest.CDNOrigin + "/pages/solo-hero/10/02.jpg", enginetest.CDNOrigin + "/pages/solo-hero/10/03.jpg"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images %q\nwant %q", got, want)
	}
	if ci := ReadChapter(doc); ci != (engine.Info{Series: "Solo Hero", Title: "Chapter 10", Number: "10"}) {
		t.Errorf("chapter info %+v", ci)
	}
}

func TestChapterPagedStyle(t *testing.T) {
	doc := enginetest.Parse(t, "chapter-paged.html", enginetest.SiteOrigin+"/manga/solo-hero/chapter-2/")
	got, paged, err := Images(doc, doc.Url)
	if err != nil || paged {
		t.Fatalf("paged %v, err %v", paged, err)
	}
	want := []string{enginetest.CDNOrigin + "/pages/solo-hero/2/01.jpg", enginetest.CDNOrigin + "/pages/solo-hero/2/02.jpg"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	// Without the preloaded list, the one image is the first page only:
	// the caller must ask for ?style=list.
	doc.Find("#chapter_preloaded_images").Remove()
	got, paged, err = Images(doc, doc.Url)
	if err != nil || !paged || len(got) != 1 {
		t.Errorf("without the preloaded list: %q paged %v err %v", got, paged, err)
	}
}

func TestChapterProtected(t *testing.T) {
	doc := enginetest.Parse(t, "chapter-protected.html", enginetest.SiteOrigin+"/manga/solo-hero/chapter-1/")
	if _, _, err := Images(doc, doc.Url); !errors.Is(err, ErrProtected) {
		t.Errorf("err %v, want ErrProtected", err)
	}
}

func TestSeriesInline(t *testing.T) {
	doc := enginetest.Parse(t, "series-inline.html", enginetest.SiteOrigin+"/manga/solo-hero/")
	if !Detect(doc) || IsChapter(doc) || !IsSeries(doc) {
		t.Fatalf("detect %v chapter %v series %v", Detect(doc), IsChapter(doc), IsSeries(doc))
	}
	s := ReadSeries(doc, doc.Url)
	if s.Title != "Solo Hero" || s.HolderID != "1841" {
		t.Errorf("series %q holder %q", s.Title, s.HolderID)
	}
	got := engine.ReadingOrder(s.Links)
	want := []engine.Link{
		{URL: enginetest.SiteOrigin + "/manga/solo-hero/chapter-1/", Title: "Chapter 1", Number: "1"},
		{URL: enginetest.SiteOrigin + "/manga/solo-hero/chapter-2/", Title: "Chapter 2", Number: "2"},
		{URL: enginetest.SiteOrigin + "/manga/solo-hero/chapter-2-5/", Title: "Chapter 2.5", Number: "2.5"},
		{URL: enginetest.SiteOrigin + "/manga/solo-hero/chapter-10/", Title: "Chapter 10 - The End", Number: "10"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chapters\n%+v\nwant\n%+v", got, want)
	}
}

func TestSeriesAJAX(t *testing.T) {
	doc := enginetest.Parse(t, "series-ajax.html", enginetest.SiteOrigin+"/manga/solo-hero/")
	s := ReadSeries(doc, doc.Url)
	if !IsSeries(doc) || s.HolderID != "1841" || len(s.Links) != 0 {
		t.Fatalf("series %v, holder %q, inline links %v", IsSeries(doc), s.HolderID, s.Links)
	}
	ajax := enginetest.Parse(t, "ajax-chapters.html", enginetest.SiteOrigin+"/manga/solo-hero/ajax/chapters/")
	var nums []string
	for _, l := range engine.ReadingOrder(Chapters(ajax, doc.Url)) {
		nums = append(nums, l.Number)
	}
	if strings.Join(nums, " ") != "1 2 2.5 10" {
		t.Errorf("numbers %v", nums)
	}
}

func TestDetectRefusesOtherEngines(t *testing.T) {
	for _, page := range []string{
		`<html><head><link rel="stylesheet" href="/wp-content/themes/mangareader/style.css"></head><body><div id="readerarea"></div><script>ts_reader.run({"sources":[]});</script></body></html>`,
		`<html><head><meta name="generator" content="FoOlSlide 1.3.3"></head><body><script>var pages = [];</script></body></html>`,
		`<html><body><div class="reader"><img src="/1.jpg"></div></body></html>`,
	} {
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		if Detect(doc) {
			t.Errorf("detected as Madara: %s", page)
		}
	}
}
