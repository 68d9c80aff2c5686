// Package book is what every output format shares: the description of a
// document (metadata, chapters, pages on disk), the page loop that splits
// it into parts under a size limit, and the temp-file handling that makes
// each part appear only when complete. The writers (pdf, cbz, epub) stream:
// memory is bounded by one page, whatever the number of pages.
package book
