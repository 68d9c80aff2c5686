// Package mangathemesia reads sites built on MangaThemesia ("MangaReader"
// by Themesia, the WordPress theme under /wp-content/themes/mangareader/):
// chapter pages whose images are listed in the ts_reader.run({...}) script
// (or, on some builds, in #readerarea), and series pages with their
// #chapterlist.
//
// Markup facts and where they come from: testdata/SOURCES.md.
package mangathemesia
