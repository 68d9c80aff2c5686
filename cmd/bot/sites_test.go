package main

import (
	"context"
	"strings"
	"testing"
)

func TestSitesListsHandlers(t *testing.T) {
	r := run(t, context.Background(), "sites")
	if r.code != 0 || !strings.Contains(r.stdout, "generic") || !strings.Contains(r.stdout, "mangadex") {
		t.Fatalf("sites: %d %q", r.code, r.stdout)
	}
}

func TestSitesListsOperatorRules(t *testing.T) {
	cfg := writeConfig(t, "[[sites.generic.rules]]\nhost = \"reader.example.org\"\nselector = \"#pages img\"\n")
	r := run(t, context.Background(), "sites", "-config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "reader.example.org") || !strings.Contains(r.stdout, "mangadex.org/chapter") || !strings.Contains(r.stdout, "webtoons.com") {
		t.Fatalf("sites: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
