// Package foolslide reads sites running FoOlSlide, the PHP reader of many
// scanlation groups: the reader at /read/<series>/<lang>/<volume>/<chapter>/
// [<subchapter>/][page/<n>] lists every page of the chapter in a
// `var pages = [...]` script; the series page /series/<series>/ lists the
// chapters; adult series answer with a notice until `adult=true` is posted.
//
// Markup facts and where they come from: testdata/SOURCES.md.
package foolslide
