package sites

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mangabot/mangabot/download"
)

// Chapter is what a handler resolves a link into.
type Chapter struct {
	Site      string // handler name
	ID        string // stable id within the site (cache key, file names)
	Series    string
	Number    string // chapter number as the site writes it ("12", "12.5"); may be empty
	Volume    string
	Title     string // chapter title
	Language  string
	Credits   []string // scanlation group(s), site credit
	SourceURL string
	Pages     []download.Page
	// Published is when the site published the chapter (listings); zero
	// when unknown.
	Published time.Time `json:",omitzero"`

	// PageCount, when Pages is still empty, is how many pages the chapter
	// has; the pipeline then calls Refresh to load them when the chapter
	// is next but one in the download (MangaDex series: one
	// /at-home/server call per chapter shortly before its turn, not all of
	// them up front).
	PageCount int

	// Refresh, when set, re-resolves the page list (MangaDex asks
	// /at-home/server again for a new image node). The fetcher calls it when
	// pages failed, then retries only the failed ones.
	Refresh func(ctx context.Context) ([]download.Page, error) `json:"-"`
	// RefreshAfter: pages older than this should be refreshed before use
	// (MangaDex baseUrl: refresh after 5 minutes). Zero: never.
	RefreshAfter time.Duration `json:"-"`
	// Report, when set, is told of every image fetch (MangaDex@Home report).
	// The fetcher calls it from its own goroutine; it must not block long.
	Report func(r download.FetchReport) `json:"-"`
}

// Request is what a user asked for.
type Request struct {
	URL      *url.URL
	Chapters string // selection ("12", "1-5", "1,4,7-9", "last", "all"); empty: the site's default
	Language string // e.g. "en"; empty: the site's default
	Quality  string // "original" or "data-saver"; empty: the site's default
}

// Env is what a handler may use to do its work.
type Env struct {
	// Client is shared by the whole process: rate limits, retries on 429/5xx
	// and the address guard are applied by its transport.
	Client *http.Client
	// UserAgent is the honest User-Agent the process sends.
	UserAgent string
	// MaxChapters bounds a selection ([sites] max_chapters).
	MaxChapters int
	// Renderer renders pages built by scripts; nil when [browser] is off.
	Renderer Renderer
	// AutoRender ([browser] auto): render a page whose HTML yields no
	// chapter images but carries scripts.
	AutoRender bool
}

// Handler resolves links of one site.
type Handler interface {
	// Match reports whether this handler takes the link.
	Match(u *url.URL) bool
	// Resolve turns a link into chapters (one for a chapter link; the
	// selected ones, in reading order, for a series link).
	Resolve(ctx context.Context, env Env, req Request) ([]*Chapter, error)
}

// SearchResult is one answer of a Searcher, for Discord autocomplete.
type SearchResult struct {
	Title string
	URL   string
}

// Searcher is implemented by handlers that can search titles.
type Searcher interface {
	Search(ctx context.Context, env Env, query string) ([]SearchResult, error)
}

// Drainer is implemented by handlers that send work in the background
// after a download (MangaDex@Home reports). Drain waits until it is done or
// ctx ends, and returns how many items were still unsent.
type Drainer interface {
	Drain(ctx context.Context) (unsent int)
}

// Limiter is implemented by handlers that want per-host rate limits.
type Limiter interface {
	Limits() []download.HostLimit
}

// Errors that the user sees; wrap them with detail.
var (
	ErrUnsupported  = errors.New("unsupported site")
	ErrNotFound     = errors.New("not found")
	ErrLayout       = errors.New("site layout not recognised")
	ErrNoPages      = errors.New("nothing downloadable")
	ErrExternal     = errors.New("chapter is hosted elsewhere")
	ErrBadSelection = errors.New("bad chapter selection")
	ErrRateLimited  = errors.New("rate limited")
)

// Unsupported is an error that matches ErrUnsupported but reads as its
// detail alone: a handler refusing a link of its own site ("not a MangaDex
// chapter or title link: ...") must not call a supported site unsupported.
func Unsupported(format string, a ...any) error {
	return unsupportedLink(fmt.Sprintf(format, a...))
}

type unsupportedLink string

func (e unsupportedLink) Error() string        { return string(e) }
func (e unsupportedLink) Is(target error) bool { return target == ErrUnsupported }
