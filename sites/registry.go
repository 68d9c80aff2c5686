package sites

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"
)

// Info declares a site handler, rclone-backend style. O is the handler's
// options struct (struct{} when it has none).
type Info[O any] struct {
	Name        string   // [sites.NAME] and what `bot sites` shows
	Description string   // one line
	Patterns    []string // URL patterns, for people ("https://mangadex.org/chapter/<uuid>")
	// Options returns a fresh options struct holding the defaults. Its
	// exported fields carry `toml:"key"` and `help:"..."` tags: config
	// decodes [sites.NAME] into it (unknown keys are errors) and
	// config.example.toml is generated from it. Nil: no options.
	Options func() *O
	// New builds the handler from the decoded options (the defaults
	// Options returned, filled from config); opts is never nil.
	New func(opts *O) (Handler, error)
	// Fallback handlers are tried after all others (the generic gallery).
	Fallback bool
}

// Entry is the type-erased view of a registration, for code that handles
// every site alike (config decoding, config.example.toml, `bot sites`).
type Entry struct {
	Name        string
	Description string
	Patterns    []string
	Fallback    bool
	// Options returns a fresh *O holding the defaults; nil when the site
	// has no options.
	Options func() any
	// New builds the handler; opts is the *O that Options returned (nil:
	// defaults). Options of another type are a programming error.
	New func(opts any) (Handler, error)
}

var (
	regMu sync.RWMutex
	reg   = map[string]Entry{}
)

// Register adds a handler declaration; call it from init. It panics on a
// duplicate name, which is a programming error.
func Register[O any](info Info[O]) {
	if info.Name == "" || info.New == nil {
		panic("sites: Register needs Name and New")
	}
	defaults := func() *O {
		if info.Options == nil {
			return new(O)
		}
		return info.Options()
	}
	e := Entry{
		Name:        info.Name,
		Description: info.Description,
		Patterns:    info.Patterns,
		Fallback:    info.Fallback,
		New: func(opts any) (Handler, error) {
			if opts == nil {
				return info.New(defaults())
			}
			o, ok := opts.(*O)
			if !ok || o == nil {
				return nil, fmt.Errorf("options of type %T, want %T", opts, o)
			}
			return info.New(o)
		},
	}
	if info.Options != nil {
		e.Options = func() any { return info.Options() }
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := reg[info.Name]; dup {
		panic("sites: duplicate site " + info.Name)
	}
	reg[info.Name] = e
}

// All returns every declaration, sorted by name, fallbacks last.
func All() []Entry {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Entry, 0, len(reg))
	for _, i := range reg {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Fallback != out[b].Fallback {
			return !out[a].Fallback
		}
		return out[a].Name < out[b].Name
	})
	return out
}

// Lookup returns the declaration of a site by name.
func Lookup(name string) (Entry, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	i, ok := reg[name]
	return i, ok
}

// Set is a built set of handlers, in match order.
type Set struct {
	names    []string
	handlers []Handler
}

// Add appends a built handler to the set (fallbacks must be added last;
// NewSet does that).
func (s *Set) Add(name string, h Handler) {
	s.names = append(s.names, name)
	s.handlers = append(s.handlers, h)
}

// NewSet builds every registered handler. opts maps a site name to its
// decoded options (as returned by Info.Options and filled from config);
// a missing entry means defaults.
func NewSet(opts map[string]any) (*Set, error) {
	s := &Set{}
	for _, info := range All() {
		h, err := info.New(opts[info.Name])
		if err != nil {
			return nil, fmt.Errorf("sites.%s: %w", info.Name, err)
		}
		s.Add(info.Name, h)
	}
	return s, nil
}

// Match finds the handler for a link.
func (s *Set) Match(u *url.URL) (name string, h Handler, err error) {
	for i, h := range s.handlers {
		if h.Match(u) {
			return s.names[i], h, nil
		}
	}
	return "", nil, fmt.Errorf("%w: %s", ErrUnsupported, u.Host)
}

// Drain lets every handler that works in the background finish (see
// Drainer), bounded by ctx, and returns the unsent items per site name
// (sites with none left are not listed).
func (s *Set) Drain(ctx context.Context) map[string]int {
	var out map[string]int
	for i, h := range s.handlers {
		if d, ok := h.(Drainer); ok {
			if n := d.Drain(ctx); n > 0 {
				if out == nil {
					out = map[string]int{}
				}
				out[s.names[i]] = n
			}
		}
	}
	return out
}

// Get returns the built handler of a site by name.
func (s *Set) Get(name string) (Handler, bool) {
	for i, n := range s.names {
		if n == name {
			return s.handlers[i], true
		}
	}
	return nil, false
}

// ParseURL checks that raw is an absolute http(s) link and returns it.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("not a link: %q (want https://...)", raw)
	}
	return u, nil
}
