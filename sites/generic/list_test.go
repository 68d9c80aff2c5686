package generic_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
)

// A gallery cannot be followed (engines' series pages are listed through
// their engine: sites/all's TestEnginesListedThroughGeneric).
func TestListRefusesAGallery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><img src="/a.jpg"><img src="/b.jpg"></body></html>`))
	}))
	defer srv.Close()
	info, _ := sites.Lookup("generic")
	h, err := info.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := enginetest.Env()
	u, _ := sites.ParseURL(srv.URL + "/gallery")
	_, err = h.(sites.Lister).List(context.Background(), env, sites.ListRequest{URL: u})
	if !errors.Is(err, sites.ErrUnsupported) || !strings.Contains(err.Error(), "cannot be followed") {
		t.Errorf("gallery: %v", err)
	}
}
