// Package madara reads sites built on Madara, the WordPress manga theme
// with its madara-core plugin: chapter pages (list or paged reader),
// series pages with their chapter list inline or loaded by AJAX.
//
// Markup facts and where they come from: testdata/SOURCES.md.
package madara
