package download

import (
	"mime"
	"net/http"

	"github.com/mangabot/mangabot/internal/imagetype"
)

// sniffImage names the image format from its magic number, or "" when head
// is not an image we know. head is the first (up to) 512 bytes.
func sniffImage(head []byte) string { return string(imagetype.Sniff(head)) }

// extFor is the file extension of a sniffed type; resume looks for these.
func extFor(typ string) string { return imagetype.Type(typ).Ext() }

// mediaType is what the body looks like when it is not an image, for the
// user's error message ("text/html").
func mediaType(head []byte) string {
	mt, _, err := mime.ParseMediaType(http.DetectContentType(head))
	if err != nil {
		return "unknown"
	}
	return mt
}
