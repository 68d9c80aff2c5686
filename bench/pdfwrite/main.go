// Command pdfwrite writes the given image files into one PDF with
// pdf.WriteFiles; bench/pdf.sh measures it against img2pdf, and
// bench/bigpng.sh measures its memory with several jobs at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/mangabot/mangabot/pdf"
)

func main() {
	out := flag.String("o", "out.pdf", "output PDF (job i > 0 writes to OUT.i)")
	split := flag.Int64("split", 0, "MaxFileBytes (0 = one file)")
	jobs := flag.Int("jobs", 1, "jobs writing the same pages at once, sharing one decode budget")
	budget := flag.Int64("budget", pdf.DefaultDecodeMemory, "decode memory budget in bytes")
	flag.Parse()
	var pages []pdf.Page
	for _, p := range flag.Args() {
		pages = append(pages, pdf.Page{Path: p})
	}
	opts := pdf.Options{MaxFileBytes: *split, Budget: pdf.NewBudget(*budget)}
	var wg sync.WaitGroup
	for i := range *jobs {
		name := *out
		if i > 0 {
			name = fmt.Sprintf("%s.%d", *out, i)
		}
		wg.Go(func() {
			paths, st, err := pdf.WriteFiles(context.Background(), name, pages, pdf.Info{Title: "bench", Creator: "mangabot"}, opts)
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
