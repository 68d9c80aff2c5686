// Package cbz writes comic book archives: a ZIP of the page images exactly
// as downloaded (stored, never re-encoded), named 001.jpg, 002.png, ... in
// reading order, with a ComicInfo.xml that Komga, Kavita and Mihon read.
package cbz
