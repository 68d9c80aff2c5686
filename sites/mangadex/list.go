package mangadex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mangabot/mangabot/sites"
)

// listLimit is how many chapters one feed request of a follow asks for: a
// round asks once, and a burst of more new chapters than this is taken
// over the next rounds (the cursor moves with what was seen).
const listLimit = 100

// sinceLayout is the API's format for publishAtSince (UTC, no zone).
const sinceLayout = "2006-01-02T15:04:05"

// List implements sites.Lister for title links: one feed request per call.
// Without req.Since it also asks for the title (2 requests). With req.Since the feed is asked for chapters published since then,
// oldest first; without, for the latest listLimit chapters (a baseline).
// Chapters hosted elsewhere or without pages are left out: a download of
// them would fail.
func (m *handler) List(ctx context.Context, env sites.Env, req sites.ListRequest) (*sites.Listing, error) {
	kind, id := m.parseLink(req.URL)
	if kind != "title" {
		return nil, fmt.Errorf("%w: follow a MangaDex title link (%s/title/<uuid>), not %v", sites.ErrUnsupported, m.site, req.URL.Redacted())
	}
	langs := m.opts.Languages
	if l := strings.ToLower(strings.TrimSpace(req.Language)); l != "" {
		if !languageCode.MatchString(l) {
			return nil, fmt.Errorf("%q is not a language code (e.g. en, pt-br)", req.Language)
		}
		langs = []string{l}
	}
	q := url.Values{
		"translatedLanguage[]":   langs,
		"contentRating[]":        m.opts.ContentRatings,
		"includes[]":             {"scanlation_group", "manga"},
		"includeFuturePublishAt": {"0"},
		"limit":                  {strconv.Itoa(listLimit)},
		"offset":                 {"0"},
	}
	if req.Since.IsZero() {
		q.Set("order[publishAt]", "desc")
	} else {
		q.Set("order[publishAt]", "asc")
		q.Set("publishAtSince", req.Since.UTC().Format(sinceLayout))
	}
	var page collection
	if err := m.get(ctx, env, "/manga/"+id+"/feed", q, &page); err != nil {
		return nil, fmt.Errorf("chapter list of %s: %w", id, err)
	}
	if page.Data == nil {
		return nil, layoutErr("feed of %s lacks data", id)
	}
	out := &sites.Listing{}
	for i := range page.Data {
		c, err := parseChapter(&page.Data[i])
		if err != nil {
			return nil, err
		}
		if !c.downloadable() {
			continue
		}
		ch := m.newChapter(env, c, "", m.opts.Quality)
		ch.Refresh, ch.Report = nil, nil // a listing: the download resolves the link again
		ch.Published = publishAt(page.Data[i].Attributes)
		out.Chapters = append(out.Chapters, ch)
	}
	if req.Since.IsZero() {
		// Asked newest first; a listing is oldest first.
		for i, j := 0, len(out.Chapters)-1; i < j; i, j = i+1, j-1 {
			out.Chapters[i], out.Chapters[j] = out.Chapters[j], out.Chapters[i]
		}
	}
	if req.Since.IsZero() {
		// The first listing of a follow also names the series (later
		// rounds keep the name they were given: one request a round).
		var manga entityResponse
		if err := m.get(ctx, env, "/manga/"+id, nil, &manga); err != nil {
			return nil, fmt.Errorf("title %s: %w", id, err)
		}
		var ma mangaAttrs
		if manga.Data == nil || json.Unmarshal(manga.Data.Attributes, &ma) != nil || len(ma.Title) == 0 {
			return nil, layoutErr("manga %s: no title", id)
		}
		out.Series = titleOf(&ma)
	}
	for _, ch := range out.Chapters {
		ch.Series = out.Series
	}
	return out, nil
}

// publishAt reads a chapter's publishAt; zero when missing or malformed.
func publishAt(attrs json.RawMessage) time.Time {
	var a struct {
		PublishAt string `json:"publishAt"`
	}
	if json.Unmarshal(attrs, &a) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, a.PublishAt)
	if err != nil {
		return time.Time{}
	}
	return t
}
