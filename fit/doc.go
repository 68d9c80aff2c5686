// Package fit makes downloaded pages fit where they are going: Shrink
// re-encodes a chapter's page files so the document lands under a byte
// budget with the least visible loss (measured with SSIM), and Strip
// stitches the vertical slices of a webtoon episode and cuts them into
// pages of a readable shape at blank gaps. Both work on files on disk and
// hold a bounded number of pages (or a band of rows) in memory.
package fit
