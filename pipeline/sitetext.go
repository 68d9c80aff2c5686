package pipeline

import (
	"github.com/mangabot/mangabot/internal/sanitize"
	"github.com/mangabot/mangabot/sites"
)

// cleanChapter strips control characters and bidi overrides from every
// text a site handler gave the chapter, once, right after Resolve: from
// here the text reaches terminals, logs, Discord messages, file names and
// PDF metadata, and none of them should have to think about it.
func cleanChapter(c *sites.Chapter) {
	for _, s := range []*string{&c.Site, &c.ID, &c.Series, &c.Number, &c.Volume, &c.Title, &c.Language, &c.SourceURL} {
		*s = sanitize.Text(*s)
	}
	for i := range c.Credits {
		c.Credits[i] = sanitize.Text(c.Credits[i])
	}
}

// cleanError is an error whose text may carry a site's words (an API's
// error message, a server's status line), shown without control
// characters; errors.Is and As still see the original.
type cleanError struct{ err error }

func (e cleanError) Error() string { return sanitize.Text(e.err.Error()) }
func (e cleanError) Unwrap() error { return e.err }
