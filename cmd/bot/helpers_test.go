package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
)

// These tests run the real binary, as a user would, against a fake manga
// site on loopback.

var botBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mangabot-bin-")
	if err != nil {
		panic(err)
	}
	botBin = filepath.Join(dir, "bot")
	out, err := exec.Command("go", "build", "-tags", "mangabot_testhooks", "-o", botBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needTool(t *testing.T, name string) {
	t.Helper()
	testtool.Need(t, name)
}

func jpegBytes(t *testing.T, w, h int, seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed * 3, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeConfig(t *testing.T, extra string) string {
	p := filepath.Join(t.TempDir(), "config.toml")
	body := "[download]\nallow_networks = [\"127.0.0.0/8\", \"::1/128\"]\nretries = 1\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// botConfig writes the config of a `bot run` against a fake Discord at
// discordURL, with guild g1, the output and the store under dir and no
// metrics listener; extra (more sections) is appended.
func botConfig(t *testing.T, token, discordURL, dir, extra string) string {
	return writeConfig(t, fmt.Sprintf(`[discord]
token = %q
api_url = %q
guild_ids = ["g1"]
[output]
dir = %q
metrics_listen = ""
[storage]
path = %q
`, token, discordURL, filepath.Join(dir, "out"), filepath.Join(dir, "mangabot.db"))+extra)
}

type result struct {
	code           int
	stdout, stderr string
}

// botEnv is the environment the binary runs with: built from scratch, so
// that DISCORD_TOKEN or MANGABOT_* variables set where the tests run do not
// change what is tested. Only what a process needs to run is passed on,
// plus GOCOVERDIR for coverage of an instrumented binary.
func botEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// botCommand is the binary with args, in a clean environment and an empty
// working directory of its own (so no ./config.toml is picked up).
func botCommand(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, botBin, args...)
	cmd.Env = botEnv()
	cmd.Dir = t.TempDir()
	return cmd
}

func run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	cmd := botCommand(t, ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// toolOutput runs one of the PDF tools (skipped, or failed under CI,
// when missing) and returns its stdout.
func toolOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	needTool(t, name)
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func pdfPages(t *testing.T, path string) int {
	t.Helper()
	needTool(t, "qpdf")
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", path, err, out)
	}
	out, err := exec.Command("qpdf", "--show-npages", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func dirEntries(t *testing.T, dir string) []string {
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

// pdfImage is one line of `pdfimages -list`.
type pdfImage struct {
	page, width, height int
	color, enc          string
}

func pdfImages(t *testing.T, path string) []pdfImage {
	t.Helper()
	needTool(t, "pdfimages")
	out, err := exec.Command("pdfimages", "-list", path).Output()
	if err != nil {
		t.Fatalf("pdfimages -list %s: %v", path, err)
	}
	var imgs []pdfImage
	for _, line := range strings.Split(string(out), "\n")[2:] {
		f := strings.Fields(line)
		if len(f) < 9 {
			continue
		}
		page, _ := strconv.Atoi(f[0])
		w, _ := strconv.Atoi(f[3])
		h, _ := strconv.Atoi(f[4])
		imgs = append(imgs, pdfImage{page: page, width: w, height: h, color: f[5], enc: f[8]})
	}
	return imgs
}

func decodeJPEGFile(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// meanAbsDiff compares img with the encoded original on a coarse grid of
// grey values (sizes may differ: both are sampled by relative position).
func meanAbsDiff(img image.Image, original []byte) float64 {
	o, err := jpeg.Decode(bytes.NewReader(original))
	if err != nil {
		return 1e9
	}
	const n = 64
	var sum float64
	for y := range n {
		for x := range n {
			a := color.GrayModel.Convert(img.At(img.Bounds().Dx()*x/n, img.Bounds().Dy()*y/n)).(color.Gray).Y
			b := color.GrayModel.Convert(o.At(o.Bounds().Dx()*x/n, o.Bounds().Dy()*y/n)).(color.Gray).Y
			sum += math.Abs(float64(a) - float64(b))
		}
	}
	return sum / (n * n)
}

// mdChapterLink is the chapter of the MangaDex fixtures (mdtest.ChapterID),
// three pages.
const mdChapterLink = "https://mangadex.org/chapter/" + mdtest.ChapterID
