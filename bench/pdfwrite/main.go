// Command pdfwrite writes the given image files into one PDF with
// pdf.WriteFiles; bench/pdf.sh measures it against img2pdf.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/mangabot/mangabot/pdf"
)

func main() {
	out := flag.String("o", "out.pdf", "output PDF")
	split := flag.Int64("split", 0, "MaxFileBytes (0 = one file)")
	flag.Parse()
	var pages []pdf.Page
	for _, p := range flag.Args() {
		pages = append(pages, pdf.Page{Path: p})
	}
	paths, st, err := pdf.WriteFiles(context.Background(), *out, pages, pdf.Info{Title: "bench", Creator: "mangabot"}, pdf.Options{MaxFileBytes: *split})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d pages, %d bytes, %d skipped, %v\n", st.Pages, st.Bytes, len(st.Skipped), paths)
}
