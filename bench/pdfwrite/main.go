// Command pdfwrite writes the given image files into one document with the
// streaming writers (pdf.WriteFiles, cbz.WriteFiles, epub.WriteFiles);
// bench/pdf.sh measures them against img2pdf.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/cbz"
	"github.com/mangabot/mangabot/epub"
	"github.com/mangabot/mangabot/pdf"
)

func main() {
	out := flag.String("o", "out.pdf", "output file")
	format := flag.String("format", "pdf", "pdf, cbz or epub")
	split := flag.Int64("split", 0, "MaxFileBytes (0 = one file)")
	flag.Parse()
	var pages []book.Page
	for _, p := range flag.Args() {
		pages = append(pages, book.Page{Path: p})
	}
	f, err := book.ParseFormat(*format)
	if err != nil {
		log.Fatal(err)
	}
	meta := book.Meta{Title: "bench", Language: "en", Chapters: []book.Chapter{{Title: "bench"}}}
	var (
		paths []string
		st    book.Stats
	)
	ctx := context.Background()
	switch f {
	case book.CBZ:
		paths, st, err = cbz.WriteFiles(ctx, *out, pages, meta, book.Options{MaxFileBytes: *split, Inspect: pdf.Inspector(0)})
	case book.EPUB:
		paths, st, err = epub.WriteFiles(ctx, *out, pages, meta, book.Options{MaxFileBytes: *split, Inspect: pdf.Inspector(0)})
	default:
		paths, st, err = pdf.WriteFiles(ctx, *out, pages, pdf.Info{Title: "bench", Creator: "mangabot"}, pdf.Options{MaxFileBytes: *split})
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d pages, %d bytes, %d skipped, %v\n", st.Pages, st.Bytes, len(st.Skipped), paths)
}
