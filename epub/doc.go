// Package epub writes fixed-layout EPUB 3 books of page images: one XHTML
// page per image with a viewport of the image's size, pages in the
// reading direction (right to left for manga), a table of contents with one
// entry per chapter and the book's metadata (title, series as a
// collection, language, contributors). Images are stored as downloaded.
package epub
