package download

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// Classification only: no traffic to any of these addresses.
func TestClassify(t *testing.T) {
	cases := map[string]string{
		"10.0.0.1":           "private network",
		"172.16.0.1":         "private network",
		"192.168.1.1":        "private network",
		"169.254.169.254":    "link-local",
		"100.64.0.1":         "carrier-grade NAT",
		"fc00::1":            "private network",
		"fe80::1":            "link-local",
		"::ffff:10.0.0.1":    "private network",
		"224.0.0.1":          "multicast",
		"ff02::1":            "multicast",
		"0.0.0.0":            "unspecified",
		"0.1.2.3":            "unspecified",
		"::":                 "unspecified",
		"127.0.0.1":          "loopback",
		"127.0.0.2":          "loopback",
		"::1":                "loopback",
		"::ffff:127.0.0.1":   "loopback",
		"64:ff9b::a00:1":     "private network", // NAT64 of 10.0.0.1
		"64:ff9b::7f00:1":    "loopback",        // NAT64 of 127.0.0.1
		"64:ff9b::5db8:d822": "",                // NAT64 of 93.184.216.34
		// Local-use NAT64 (RFC 8215), /96 layout.
		"64:ff9b:1::a9fe:a9fe":     "link-local", // 169.254.169.254
		"64:ff9b:1:2:3:4:c0a8:101": "private network",
		"64:ff9b:1::5db8:d822":     "",
		// 6to4: the v4 address is in bits 16–48.
		"2002:a00:1::":         "private network", // 10.0.0.1
		"2002:7f00:1::1":       "loopback",
		"2002:a9fe:a9fe:1::1":  "link-local",
		"2002:6440:1::":        "carrier-grade NAT", // 100.64.0.1
		"2002:5db8:d822::1":    "",
		"2002:5db8:d822:ff::1": "",
		// Teredo: server v4 in bits 32–64, client v4 inverted in the last 32.
		"2001:0:4136:e378:8000:63bf:f5ff:fffe": "private network", // client 10.0.0.1
		"2001:0:4136:e378:8000:63bf:80ff:fffe": "loopback",        // client 127.0.0.1
		"2001:0:c0a8:101:8000:63bf:a247:27dd":  "private network", // server 192.168.1.1
		"2001:0:4136:e378:8000:63bf:a247:27dd": "",                // 65.54.227.120, client 93.184.216.34
		"2001:4860:4860::8888":                 "",                // not Teredo (2001:4860::/32)
		// Site-local, deprecated but still routed privately.
		"fec0::1":         "site-local",
		"feff:ffff::1":    "site-local",
		"ff00::1":         "multicast",
		"255.255.255.255": "reserved",
		"93.184.216.34":   "",
		"1.1.1.1":         "",
		"2606:4700::1111": "",
	}
	for s, want := range cases {
		if got := classify(netip.MustParseAddr(s)); got != want {
			t.Errorf("classify(%s) = %q, want %q", s, got, want)
		}
	}
	allow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if err := checkAddr(netip.MustParseAddr("::ffff:10.1.2.3"), allow); err != nil {
		t.Errorf("allowed network refused: %v", err)
	}
	err := checkAddr(netip.MustParseAddr("10.0.0.1"), nil)
	if err == nil || err.Error() != "blocked address 10.0.0.1 (private network); allow it with [download] allow_networks" {
		t.Errorf("error %v", err)
	}
}

// The dial hook itself, called directly as the dialer would after making
// the socket and before connect: blocked addresses are refused there. Called
// without a socket, so nothing is sent anywhere.
func TestControlRefuses(t *testing.T) {
	f := New(Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("192.168.5.0/24")}})
	for _, a := range []string{"10.0.0.1:80", "[fe80::1]:443", "[fe80::1%lo]:443", "169.254.169.254:80", "[::ffff:172.16.0.1]:80", "127.0.0.1:8080", "[2002:a00:1::1]:443", "[fec0::1]:80"} {
		var be *BlockedError
		if err := f.control("tcp", a, nil); !errors.As(err, &be) {
			t.Errorf("control(%s) = %v, want a BlockedError", a, err)
		}
	}
	for _, a := range []string{"93.184.216.34:443", "192.168.5.7:80"} {
		if err := f.control("tcp", a, nil); err != nil {
			t.Errorf("control(%s) = %v", a, err)
		}
	}
}

// TestGuardLoopback: with allow_networks empty, loopback servers are
// refused at dial time, on 127.0.0.1 and on another loopback address
// (127.0.0.2, without relying on /etc/hosts for a name), for pages and for
// Client(); the servers see nothing and nothing is retried.
func TestGuardLoopback(t *testing.T) {
	var hits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	srv := httptest.NewServer(h)
	defer srv.Close()
	srv2 := httptest.NewUnstartedServer(h)
	srv2.Listener.Close()
	srv2.Listener = listenLoopback2(t)
	srv2.Start()
	defer srv2.Close()
	opts := testOptions()
	opts.AllowNetworks = nil
	f := New(opts)
	pages := []Page{{URL: srv.URL + "/a"}, {URL: srv2.URL + "/b"}}
	res, err := f.Fetch(context.Background(), Batch{Pages: pages, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i, addr := range []string{"127.0.0.1", "127.0.0.2"} {
		r := res.Pages[i]
		if !strings.HasPrefix(reasonOf(r), "blocked address "+addr+" (loopback); allow it with [download] allow_networks") {
			t.Errorf("page %d: %q", i, reasonOf(r))
		}
	}
	_, err = f.Client().Get(srv.URL)
	var be *BlockedError
	if !errors.As(err, &be) || be.Addr.String() != "127.0.0.1" {
		t.Errorf("Client().Get: %v", err)
	}
	if hits.Load() != 0 {
		t.Errorf("server saw %d requests", hits.Load())
	}
	if st := f.Stats(); st.Retries != 0 {
		t.Errorf("blocked requests retried %d times", st.Retries)
	}
}

// TestGuardRedirect: an allowed host redirecting to a refused one (127.0.0.2
// is loopback but outside the allowed 127.0.0.1/32) is stopped at dial time.
func TestGuardRedirect(t *testing.T) {
	ln := listenLoopback2(t)
	var hitsB atomic.Int32
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hitsB.Add(1) }))
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	defer b.Close()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/img.jpg", http.StatusFound)
	}))
	defer a.Close()
	opts := testOptions()
	opts.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	f := New(opts)
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{{URL: a.URL + "/p"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := reasonOf(res.Pages[0]); !strings.HasPrefix(got, "blocked address 127.0.0.2 (loopback)") {
		t.Errorf("reason %q", got)
	}
	var be *BlockedError
	if _, err := f.Client().Get(a.URL); !errors.As(err, &be) {
		t.Errorf("Client().Get: %v", err)
	}
	if hitsB.Load() != 0 {
		t.Errorf("blocked server saw %d requests", hitsB.Load())
	}
}

func TestSchemesAndRedirectLimit(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/file" {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			return
		}
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound) // forever
	}))
	defer srv.Close()
	f := New(testOptions())
	res, err := f.Fetch(context.Background(), Batch{Pages: []Page{
		{URL: "file:///etc/passwd"}, {URL: srv.URL + "/file"}, {URL: srv.URL + "/loop"},
	}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := reasonOf(res.Pages[i]); !strings.Contains(got, `unsupported URL scheme "file"`) {
			t.Errorf("page %d: %q", i, got)
		}
	}
	if got := reasonOf(res.Pages[2]); got != "stopped after 10 redirects" {
		t.Errorf("redirect loop: %q", got)
	}
	if _, err := f.Client().Get("ftp://127.0.0.1/x"); !errors.Is(err, errScheme) {
		t.Errorf("ftp: %v", err)
	}
	// /file once; /loop: the first request and 9 redirects followed, the
	// 10th refused.
	if hits.Load() != 11 {
		t.Errorf("server saw %d requests, want 11", hits.Load())
	}
}
