// Package pdf writes image pages into a PDF, streaming: each page's image
// goes straight to the file and the cross-reference table is written at the
// end, so memory does not grow with the number of pages. JPEG bytes are
// copied untouched; PNG without alpha or interlace passes its compressed
// data through; everything else is decoded and stored losslessly.
package pdf
