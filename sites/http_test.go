package sites_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/sitestest"
)

// echoServer answers /status/N with status N, /html with a page (after a
// redirect from /old), /json with a document, /big with 2 KiB, and echoes
// on /echo what it received.
func echoServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{n}", func(w http.ResponseWriter, r *http.Request) {
		n := map[string]int{"404": 404, "410": 410, "429": 429, "503": 503}[r.PathValue("n")]
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"detail":"refused"}`, n)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/html", http.StatusFound) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Chapter 1</title></head><body><img src=a.jpg></body></html>")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pages":["a.jpg","b.jpg"]}`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2048)) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "query": r.URL.RawQuery, "body": string(body),
			"type": r.Header.Get("Content-Type"), "referer": r.Referer(), "ua": r.UserAgent(),
			"accept": r.Header.Get("Accept"), "x": r.Header.Get("X-Requested-With"),
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testEnv() sites.Env {
	return sites.Env{Client: sitestest.Fetcher(download.Options{Retries: -1}).Client(), UserAgent: sitestest.UA}
}

func mustURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDoStatus(t *testing.T) {
	srv := echoServer(t)
	for _, tc := range []struct {
		path              string
		notFound, limited bool
		msg               string
	}{
		{"/status/404", true, false, "not found (HTTP 404)"},
		{"/status/410", true, false, "not found (HTTP 410)"},
		{"/status/429", false, true, "rate limited (HTTP 429)"},
		{"/status/503", false, false, "HTTP 503 Service Unavailable"},
	} {
		_, err := sites.Do(context.Background(), testEnv(), sites.Req{URL: mustURL(t, srv.URL+tc.path)})
		var se *sites.StatusError
		if !errors.As(err, &se) || !strings.Contains(string(se.Body), "refused") {
			t.Fatalf("%s: %v, want a *StatusError with the body", tc.path, err)
		}
		if errors.Is(err, sites.ErrNotFound) != tc.notFound || errors.Is(err, sites.ErrRateLimited) != tc.limited {
			t.Errorf("%s: Is(ErrNotFound)=%v Is(ErrRateLimited)=%v", tc.path, errors.Is(err, sites.ErrNotFound), errors.Is(err, sites.ErrRateLimited))
		}
		if err.Error() != tc.msg {
			t.Errorf("%s: %q, want %q", tc.path, err, tc.msg)
		}
	}
}

func TestDoRequestShape(t *testing.T) {
	srv := echoServer(t)
	var got map[string]string
	ask := func(r sites.Req) {
		t.Helper()
		r.URL = mustURL(t, srv.URL+"/echo?page=1")
		got = nil
		if err := sites.DoJSON(context.Background(), testEnv(), r, &got); err != nil {
			t.Fatal(err)
		}
	}
	ask(sites.Req{Query: url.Values{"q": {"a b"}}, Referer: "https://reader.example/ch/1/", Header: http.Header{"X-Requested-With": {"XMLHttpRequest"}}})
	if got["method"] != "GET" || got["query"] != "page=1&q=a+b" || got["referer"] != "https://reader.example/ch/1/" ||
		got["ua"] != sitestest.UA || got["accept"] != "application/json" || got["x"] != "XMLHttpRequest" {
		t.Errorf("GET: server saw %q", got)
	}
	ask(sites.Req{Form: url.Values{"action": {"manga_get_chapters"}, "manga": {"42"}}})
	if got["method"] != "POST" || got["type"] != "application/x-www-form-urlencoded" || got["body"] != "action=manga_get_chapters&manga=42" {
		t.Errorf("form POST: server saw %q", got)
	}
	ask(sites.Req{JSON: map[string]int{"n": 1}})
	if got["method"] != "POST" || got["type"] != "application/json" || got["body"] != `{"n":1}` {
		t.Errorf("JSON POST: server saw %q", got)
	}
}

func TestDoDecode(t *testing.T) {
	srv := echoServer(t)
	env := testEnv()
	doc, err := sites.DoHTML(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/old")})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Url.Path != "/html" || doc.Find("title").Text() != "Chapter 1" {
		t.Errorf("DoHTML: url %s, title %q; want the page after the redirect", doc.Url, doc.Find("title").Text())
	}
	if _, err := sites.DoHTML(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/json")}); !errors.Is(err, sites.ErrLayout) {
		t.Errorf("DoHTML of JSON: %v, want ErrLayout", err)
	}
	var v struct{ Pages []string }
	if err := sites.DoJSON(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/json")}, &v); err != nil || len(v.Pages) != 2 {
		t.Errorf("DoJSON: %v, %v", v, err)
	}
	if err := sites.DoJSON(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/html")}, &v); !errors.Is(err, sites.ErrLayout) {
		t.Errorf("DoJSON of HTML: %v, want ErrLayout", err)
	}
	if _, err := sites.Do(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/big"), MaxBytes: 1024}); !errors.Is(err, sites.ErrLayout) {
		t.Errorf("2 KiB over a 1 KiB cap: %v, want ErrLayout", err)
	}
	if r, err := sites.Do(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/big"), MaxBytes: 2048}); err != nil || len(r.Body) != 2048 {
		t.Errorf("2 KiB at a 2 KiB cap: %v", err)
	}
}

// Without Env.Client nothing is sent: http.DefaultClient has no address
// guard and no limits.
func TestDoWithoutClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, err := sites.Do(context.Background(), sites.Env{}, sites.Req{URL: mustURL(t, srv.URL+"/echo")})
	if err == nil || !strings.Contains(err.Error(), "no HTTP client") || hits.Load() != 0 {
		t.Errorf("err %v, %d requests; want a refusal and none", err, hits.Load())
	}
}

// The address guard of the fetcher's client applies: a client without
// loopback allowed cannot reach the test server.
func TestDoAddressGuard(t *testing.T) {
	srv := echoServer(t)
	env := sites.Env{Client: download.New(download.Options{Retries: -1}).Client()}
	_, err := sites.Do(context.Background(), env, sites.Req{URL: mustURL(t, srv.URL+"/echo")})
	var blocked *download.BlockedError
	if !errors.As(err, &blocked) {
		t.Errorf("loopback without allow_networks: %v, want a *download.BlockedError", err)
	}
}
