package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine"
	"github.com/mangabot/mangabot/sites/generic"
)

// cmdSites lists the site handlers and engines, their link patterns, the
// operator rules of the generic handler and the hosts pinned to engines.
func cmdSites(args []string, w, stderr io.Writer) int {
	cfg, _, code := loadConfig(flag.NewFlagSet("sites", flag.ContinueOnError), args, stderr)
	if cfg == nil {
		return code
	}
	for _, info := range sites.All() {
		fmt.Fprintf(w, "%s\t%s\n", info.Name, info.Description)
		for _, p := range info.Patterns {
			fmt.Fprintf(w, "\t%s\n", p)
		}
		// Operator-defined sites are sites too: list their hosts.
		if g, ok := cfg.Sites.Options[info.Name].(*generic.Options); ok {
			for _, r := range g.Rules {
				fmt.Fprintf(w, "\thttps://%s/... (operator rule: %s)\n", r.Host, r.Selector)
			}
		}
		// Hosts the operator pinned to an engine.
		if e, ok := cfg.Sites.Options[info.Name].(*engine.Options); ok {
			for _, h := range e.Hosts {
				fmt.Fprintf(w, "\thttps://%s/... (pinned to %s)\n", h, info.Name)
			}
		}
	}
	return 0
}
