// Command botbig measures the Discord bot's peak memory with two jobs at
// once whose pages are huge 16-bit PNGs (bench/bigpng.sh makes them): it
// runs `bot run` against the fake Discord of internal/fakediscord and a
// loopback gallery site, asks for two different chapters from two
// members, waits for both PDFs to be delivered, stops the bot and prints
// the bot process's peak RSS.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
)

func main() {
	bot := flag.String("bot", "bot", "the bot binary")
	pagesDir := flag.String("pages", "/tmp/bigpng/pages", "directory of the PNG pages")
	work := flag.String("work", "/tmp/bigpng/botwork", "output dir and store of the bot (emptied first)")
	flag.Parse()
	pages, _ := filepath.Glob(filepath.Join(*pagesDir, "*.png"))
	sort.Strings(pages)
	if len(pages) == 0 {
		log.Fatalf("no PNG pages in %s", *pagesDir)
	}
	os.RemoveAll(*work)
	if err := os.MkdirAll(*work, 0o755); err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	site := "http://" + ln.Addr().String()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/chapter/"); ok {
			fmt.Fprintf(w, "<html><head><title>Huge Pages Chapter %s</title></head><body><div id=\"reader\">", name)
			for i := range pages {
				fmt.Fprintf(w, "<img src=\"/img/%s/%d.png\">", name, i)
			}
			fmt.Fprint(w, "</div></body></html>")
			return
		}
		parts := strings.Split(strings.TrimSuffix(r.URL.Path, ".png"), "/")
		i, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || i < 0 || i >= len(pages) {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, pages[i])
	}))

	fd := fakediscord.New()
	defer fd.Close()
	cfg := filepath.Join(*work, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[discord]
token = "bench-token"
api_url = %q
guild_ids = ["g1"]
[bot]
max_jobs = 2
[download]
allow_networks = ["127.0.0.0/8"]
rate = 1000.0
burst = 100
[output]
dir = %q
metrics_listen = ""
keep = "0s"
[storage]
path = %q
`, fd.URL, filepath.Join(*work, "out"), filepath.Join(*work, "mangabot.db"))), 0o600)
	cmd := exec.Command(*bot, "run", "-config", cfg)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	// log.Fatal skips deferred calls: stop the bot on every way out.
	fatal = func(format string, a ...any) {
		cmd.Process.Kill()
		log.Fatalf(format, a...)
	}
	defer cmd.Process.Kill()
	wait(fd, "commands registered", func() bool { return fd.Commands("g1") != nil })
	start := time.Now()
	var toks []string
	for _, user := range []string{"u1", "u2"} {
		_, tok, err := fd.Dispatch(fakediscord.Interaction{Type: 2, GuildID: "g1", ChannelID: "c1", UserID: user,
			Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1, "options": []map[string]any{{"name": "download", "type": 1,
				"options": []map[string]any{{"name": "url", "type": 3, "value": site + "/chapter/" + user}}}}}})
		if err != nil {
			fatal("dispatch: %v", err)
		}
		toks = append(toks, tok)
	}
	wait(fd, "two deliveries", func() bool {
		n := 0
		for _, m := range fd.ChannelMessages() {
			if len(m.Attachments) > 0 {
				n++
			}
		}
		for _, tok := range toks {
			if m := fd.Original(tok); m != nil && len(m.Attachments) > 0 {
				n++
			}
			for _, m := range fd.Followups(tok) {
				if len(m.Attachments) > 0 {
					n++
				}
			}
		}
		return n >= 2
	})
	took := time.Since(start)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		fatal("no resource usage")
	}
	fmt.Printf("| `bot run`, two jobs at once | %s | %d |\n", took.Round(10*time.Millisecond), ru.Maxrss/1024)
}

var fatal = log.Fatalf

func wait(fd *fakediscord.Server, what string, cond func() bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for !cond() {
		wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fd.Wait(wctx, cond)
		wcancel()
		if ctx.Err() != nil {
			fatal("timed out waiting for %s", what)
		}
	}
}
