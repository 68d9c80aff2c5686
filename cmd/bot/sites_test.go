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

// The engines are listed next to the sites, with the hosts pinned to them.
func TestSitesListsEnginesAndPinnedHosts(t *testing.T) {
	cfg := writeConfig(t, "[sites.madara]\nhosts = [\"reader.example.org\"]\n")
	r := run(t, context.Background(), "sites", "-config", cfg)
	if r.code != 0 {
		t.Fatalf("sites: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"madara\tEngine: Madara", "mangathemesia\tEngine: MangaThemesia", "foolslide\tEngine: FoOlSlide", "https://reader.example.org/... (pinned to madara)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	bad := writeConfig(t, "[sites.madara]\nhosts = [\"https://reader.example.org/\"]\n")
	if r := run(t, context.Background(), "sites", "-config", bad); r.code == 0 || !strings.Contains(r.stderr, "sites.madara") {
		t.Errorf("a pinned URL instead of a host: exit %d, stderr %q", r.code, r.stderr)
	}
}
