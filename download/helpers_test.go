package download

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// testOptions: rates that never bind, millisecond backoff, loopback allowed.
func testOptions() Options {
	return Options{
		UserAgent:     "mangabot-test/1",
		Rate:          10000,
		Burst:         1000,
		Concurrency:   4,
		BackoffBase:   time.Millisecond,
		BackoffMax:    5 * time.Millisecond,
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
}

// testImage draws a small noisy picture that differs per page, so each
// page's bytes are distinct and a few KiB long.
func testImage(i int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	seed := uint32(i*7919 + 1)
	for y := 0; y < 48; y++ {
		for x := 0; x < 48; x++ {
			seed = seed*1664525 + 1013904223
			img.Set(x, y, color.RGBA{uint8(seed >> 24), uint8(i * 8), uint8(x * 5), 255})
		}
	}
	return img
}

func jpegBytes(t testing.TB, i int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(i), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, i int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(i)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// dirNames lists dir's entries.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func tempFiles(t testing.TB, dir string) []string {
	var tmp []string
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, ".tmp") {
			tmp = append(tmp, n)
		}
	}
	return tmp
}

func reasonOf(r PageResult) string {
	if r.Err == nil {
		return ""
	}
	return r.Err.Error()
}

// waitFor polls cond; it fails the test if cond is not true within d (a
// guard against hangs, not a timing assertion).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// listenLoopback2 listens on 127.0.0.2, a loopback address distinct from
// httptest's 127.0.0.1 (so a distinct host and a distinct address). Linux
// routes all of 127/8 to lo; elsewhere the test is skipped, except under CI,
// where the missing address is a failure rather than a silent skip.
func listenLoopback2(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot listen on 127.0.0.2 (CI is set): %v", err)
		}
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	return ln
}
