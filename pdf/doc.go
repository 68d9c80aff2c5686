// Package pdf writes image pages into a PDF, streaming: each page's image
// goes straight to the file and the cross-reference table is written at the
// end, so memory does not grow with the number of pages. JPEG bytes are
// copied untouched; PNG without alpha or interlace passes its compressed
// data through; everything else is decoded and stored losslessly, within a
// memory budget shared by every job (Budget): a PNG too big to decode
// within it is converted row by row and stored at 8 bits, any other page
// too big becomes a placeholder saying why.
package pdf
