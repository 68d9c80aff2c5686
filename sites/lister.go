package sites

import (
	"context"
	"net/url"
	"time"
)

// ListRequest asks for the chapters of a series, for follows: nothing is
// downloaded.
type ListRequest struct {
	URL      *url.URL // the series link that was followed
	Language string   // "": the site's default
	// Since, when not zero, lets a handler ask only for chapters published
	// at or after it (MangaDex: publishAtSince). It is a hint: a handler
	// that cannot filter returns everything, and the caller drops the
	// chapters it has seen by their key.
	Since time.Time
}

// Listing is a series' chapters without their pages.
type Listing struct {
	Series   string     // series title; "" when this answer did not tell
	Chapters []*Chapter // reading order, oldest first; Pages empty
}

// Lister is implemented by handlers that can list a series' chapters
// cheaply, for follows: one request per series and round where the site
// allows it. Each chapter carries SourceURL (a link Resolve takes) and a
// stable ID; Number, Title, Credits and Published when known.
type Lister interface {
	List(ctx context.Context, env Env, req ListRequest) (*Listing, error)
}

// Key identifies a chapter within its site for follows: Site/ID, or the
// link when the handler gave no ID.
func (c *Chapter) Key() string {
	if c.ID != "" {
		return c.Site + "/" + c.ID
	}
	return c.Site + "/" + c.SourceURL
}
