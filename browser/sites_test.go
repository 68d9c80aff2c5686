package browser

import (
	"net/http"
	"strings"
	"testing"
)

// Render gives the site handlers the page after redirects, its DOM, a
// cookie lookup for the images and the refusals as text.
func TestRenderForSites(t *testing.T) {
	priv, _ := privateServer(t, http.HandlerFunc(servePNG))
	srv := readerServer(t, map[string]http.HandlerFunc{
		"/go": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/chapter", http.StatusFound) },
		"/chapter": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "42", Path: "/img/"})
			serveHTML(`<!doctype html><div id="r"></div><script>
const i = document.createElement('img'); i.src = '/img/1.png'; document.getElementById('r').appendChild(i);
fetch('`+priv.URL+`/x').catch(() => {});
</script>`)(w, r)
		},
	})
	rd, err := newResolver(t, Options{}).Render(t.Context(), srv.URL+"/go")
	if err != nil {
		t.Fatal(err)
	}
	if rd.URL.String() != srv.URL+"/chapter" || !strings.Contains(rd.HTML, `<img src="/img/1.png">`) {
		t.Fatalf("URL %s, HTML %.200s", rd.URL, rd.HTML)
	}
	if c := rd.Cookie(srv.URL + "/img/1.png"); c != "sid=42" {
		t.Fatalf("cookie for the image %q", c)
	}
	if c := rd.Cookie(srv.URL + "/chapter"); c != "" {
		t.Fatalf("cookie outside its path %q", c)
	}
	if len(rd.Refused) != 1 || !strings.HasPrefix(rd.Refused[0], priv.URL+"/x: blocked address") {
		t.Fatalf("refused %q", rd.Refused)
	}
}
