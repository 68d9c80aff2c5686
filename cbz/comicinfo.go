package cbz

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/mangabot/mangabot/book"
)

// comicInfo is ComicInfo.xml, schema 2.1 (anansi-project; 2.1 adds
// Translator and the page Bookmark used for chapters). Fields are in the
// schema's order, which it requires.
type comicInfo struct {
	XMLName         xml.Name    `xml:"ComicInfo"`
	XSI             string      `xml:"xmlns:xsi,attr"`
	XSD             string      `xml:"xmlns:xsd,attr"`
	Title           string      `xml:"Title,omitempty"`
	Series          string      `xml:"Series,omitempty"`
	Number          string      `xml:"Number,omitempty"`
	Volume          *int        `xml:"Volume,omitempty"`
	Summary         string      `xml:"Summary,omitempty"`
	Notes           string      `xml:"Notes,omitempty"`
	Writer          string      `xml:"Writer,omitempty"`
	Penciller       string      `xml:"Penciller,omitempty"`
	Translator      string      `xml:"Translator,omitempty"`
	Tags            string      `xml:"Tags,omitempty"`
	Web             string      `xml:"Web,omitempty"`
	PageCount       int         `xml:"PageCount"`
	LanguageISO     string      `xml:"LanguageISO,omitempty"`
	Format          string      `xml:"Format,omitempty"`
	Manga           string      `xml:"Manga"`
	ScanInformation string      `xml:"ScanInformation,omitempty"`
	Pages           []comicPage `xml:"Pages>Page"`
}

type comicPage struct {
	Image       int    `xml:"Image,attr"`
	Type        string `xml:"Type,attr,omitempty"`
	ImageSize   int64  `xml:"ImageSize,attr"`
	Bookmark    string `xml:"Bookmark,attr,omitempty"`
	ImageWidth  int    `xml:"ImageWidth,attr"`
	ImageHeight int    `xml:"ImageHeight,attr"`
}

// newComicInfo fills what the document's metadata gives; pages come later.
func newComicInfo(m *book.Meta, part int) *comicInfo {
	ci := &comicInfo{
		XSI:         "http://www.w3.org/2001/XMLSchema-instance",
		XSD:         "http://www.w3.org/2001/XMLSchema",
		Title:       m.Title,
		Series:      m.Series,
		Number:      m.Number,
		Summary:     m.Summary,
		Writer:      strings.Join(m.Writers, ", "),
		Penciller:   strings.Join(m.Artists, ", "),
		Translator:  strings.Join(m.Groups, ", "),
		Tags:        strings.Join(m.Keywords, ", "),
		Web:         m.Web,
		LanguageISO: m.Language,
		Manga:       "No",
	}
	if len(m.Chapters) == 1 && m.Chapters[0].Title != "" {
		// A single chapter: the book's title is the chapter's own.
		ci.Title = m.Chapters[0].Title
	}
	if part > 1 {
		ci.Title += fmt.Sprintf(" (part %d)", part)
	}
	// The schema wants a whole number; "1.5" or "TBD" stays out.
	if v, err := strconv.Atoi(strings.TrimSpace(m.Volume)); err == nil {
		ci.Volume = &v
	}
	if m.RightToLeft {
		ci.Manga = "YesAndRightToLeft"
	}
	if m.Webtoon {
		ci.Format = "Web Comic"
	}
	if len(m.Groups) > 0 {
		ci.ScanInformation = strings.Join(m.Groups, ", ")
	}
	return ci
}

func (ci *comicInfo) render() ([]byte, error) {
	b, err := xml.MarshalIndent(ci, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ComicInfo.xml: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
