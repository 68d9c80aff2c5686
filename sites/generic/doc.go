// Package generic is the fallback site handler: any http(s) page that
// shows a chapter's images. Hosts with an operator rule
// ([[sites.generic.rules]]) are read with the rule's CSS selector (and its
// next-page link); every other host goes through the gallery heuristic,
// which keeps the images of the reader's container and drops decoration
// (logos, avatars, adverts, pixels, placeholders).
package generic
