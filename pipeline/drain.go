package pipeline

import (
	"context"
	"time"
)

// DrainBound is how long the CLI (before it exits) and the bot (at
// shutdown) wait for the sites' background work: MangaDex@Home reports of
// the images just fetched. Long enough for a few dozen reports, short
// enough never to hold the user.
const DrainBound = 5 * time.Second

// Drain waits at most bound for the site handlers' background work and
// calls dropped once per site whose items were still unsent then.
func (e *Env) Drain(bound time.Duration, dropped func(site string, unsent int)) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for site, n := range e.Sites.Drain(ctx) {
		dropped(site, n)
	}
}
