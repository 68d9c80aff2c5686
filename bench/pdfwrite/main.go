// Command pdfwrite writes the given image files into one document with the
// streaming writers (pdf.WriteFiles, book.WriteFiles with cbz.New or epub.New);
// bench/pdf.sh measures them against img2pdf, and bench/bigpng.sh measures
// the PDF writer's memory with several jobs at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/cbz"
	"github.com/mangabot/mangabot/epub"
	"github.com/mangabot/mangabot/pdf"
)

func main() {
	out := flag.String("o", "out.pdf", "output file (job i > 0 writes to OUT.i)")
	format := flag.String("format", "pdf", "pdf, cbz or epub")
	split := flag.Int64("split", 0, "MaxFileBytes (0 = one file)")
	jobs := flag.Int("jobs", 1, "jobs writing the same pages at once, sharing one decode budget")
	budget := flag.Int64("budget", pdf.DefaultDecodeMemory, "decode memory budget in bytes")
	flag.Parse()
	var pages []book.Page
	for _, p := range flag.Args() {
		pages = append(pages, book.Page{Path: p})
	}
	f, err := book.ParseFormat(*format)
	if err != nil {
		log.Fatal(err)
	}
	opts := pdf.Options{MaxFileBytes: *split, Budget: pdf.NewBudget(*budget)}
	bopts := book.Options{MaxFileBytes: *split, Inspect: pdf.Inspector(0)}
	meta := book.Meta{Title: "bench", Language: "en", Chapters: []book.Chapter{{Title: "bench"}}}
	var wg sync.WaitGroup
	for i := range *jobs {
		name := *out
		if i > 0 {
			name = fmt.Sprintf("%s.%d", *out, i)
		}
		wg.Go(func() {
			var (
				paths []string
				st    book.Stats
				err   error
			)
			ctx := context.Background()
			switch f {
			case book.CBZ:
				paths, st, err = book.WriteFiles(ctx, name, pages, meta, bopts, cbz.New)
			case book.EPUB:
				paths, st, err = book.WriteFiles(ctx, name, pages, meta, bopts, epub.New)
			default:
				paths, st, err = pdf.WriteFiles(ctx, name, pages, pdf.Info{Title: "bench", Creator: "mangabot"}, opts)
			}
			if err != nil {
				log.Fatal(err)
			}
			fmt.Fprintf(os.Stderr, "%d pages, %d bytes, %d skipped, %v\n", st.Pages, st.Bytes, len(st.Skipped), paths)
			for _, s := range st.Skipped {
				fmt.Fprintf(os.Stderr, "  page %d: %s\n", s.Index+1, s.Reason)
			}
		})
	}
	wg.Wait()
}
