package engine

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/PuerkitoBio/goquery"

	"github.com/mangabot/mangabot/sites"
)

// Engine is one engine's reader, as its package registers it.
type Engine struct {
	Name  string // the site name: [sites.NAME], `bot sites`
	Label string // for people: "Madara"
	// Detect reports whether a page of a host is this engine's.
	Detect func(doc *goquery.Document) bool
	// Read resolves req from its page, already fetched (doc.Url is the
	// final URL): a chapter, or the selected chapters of a series.
	Read func(ctx context.Context, env sites.Env, req sites.Request, doc *goquery.Document) ([]*sites.Chapter, error)
}

var (
	regMu   sync.RWMutex
	engines = map[string]Engine{}
	// known remembers, for the process, which engine each host runs: once
	// a page showed it, the host's links go straight to the engine.
	// Keyed by host:port as in the URL: another port is another server.
	known sync.Map // host[:port], lower case -> engine name
)

// Register adds an engine; call it from the engine package's init.
func Register(e Engine) {
	if e.Name == "" || e.Detect == nil || e.Read == nil {
		panic("engine: Register needs Name, Detect and Read")
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := engines[e.Name]; dup {
		panic("engine: duplicate engine " + e.Name)
	}
	engines[e.Name] = e
}

// All returns the registered engines sorted by name.
func All() []Engine {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Engine, 0, len(engines))
	for _, e := range engines {
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Detect finds the engine of a page, and remembers it for the page's host.
func Detect(doc *goquery.Document) (Engine, bool) {
	for _, e := range All() {
		if e.Detect(doc) {
			if doc.Url != nil {
				Remember(doc.Url.Host, e.Name)
			}
			return e, true
		}
	}
	return Engine{}, false
}

// Remember records that host (host[:port]) runs the engine name.
func Remember(host, name string) { known.Store(hostKey(host), name) }

// Forget drops what was remembered of host: its pages stopped showing the
// engine (the site changed its theme).
func Forget(host string) { known.Delete(hostKey(host)) }

// Known returns the engine remembered for host; "" when none.
func Known(host string) string {
	if v, ok := known.Load(hostKey(host)); ok {
		return v.(string)
	}
	return ""
}

func hostKey(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
