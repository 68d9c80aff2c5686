package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/pipeline"
)

func cmdFetch(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	out := fs.String("o", ".", "output directory, or a file name ending in .pdf")
	chapters := fs.String("chapters", "", "chapters of a series: 12, 1-5, 1,4,7-9, last or all")
	lang := fs.String("lang", "", "language code for series links (e.g. en)")
	quality := fs.String("quality", "", "original or data-saver (sites that offer both)")
	merge := fs.Bool("merge", false, "one file per volume (or one file) instead of one per chapter")
	fitMode := fs.String("fit", "", "a file over -max-bytes: parts or shrink (re-encode the pages to fit one file); default [output] fit")
	maxBytes := fs.String("max-bytes", "", "largest file, e.g. 10MiB; default [output] max_file_bytes (0: no limit)")
	strip := fs.Bool("strip", false, "stitch each chapter into a strip cut into pages at blank gaps (webtoons)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bot fetch [-config F] [-o PATH] [-chapters SEL] [-lang CODE] [-quality Q] [-merge] [-fit parts|shrink] [-max-bytes N] [-strip] URL")
		fs.PrintDefaults()
	}
	// Flags may follow the URL too (bot fetch URL -o x.pdf).
	args = flagsFirst(args)
	cfg, fs, rc := loadConfig(fs, args, stderr)
	if cfg == nil {
		return rc
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		return fail(stderr, err)
	}
	defer env.Close()
	// MangaDex@Home reports of the images fetched go out in the
	// background: let them leave before the process does.
	defer env.Drain(pipeline.DrainBound, func(site string, n int) {
		fmt.Fprintf(stderr, "%s: %d background reports not sent within %s; dropped\n", site, n, pipeline.DrainBound)
	})
	req := pipeline.Request{URL: fs.Arg(0), Chapters: *chapters, Language: *lang, Quality: *quality, Merge: *merge, Fit: *fitMode, Strip: *strip}
	if err := fitFlags(env, &req, *maxBytes); err != nil {
		return fail(stderr, err)
	}

	dir, file := *out, ""
	if strings.EqualFold(filepath.Ext(*out), ".pdf") {
		dir, file = filepath.Dir(*out), *out
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fail(stderr, fmt.Errorf("output path %s is not a directory", dir))
	} else if err != nil {
		// Like other downloaders, create the directory; remove it again
		// (if still empty) when nothing gets written.
		created := missingDirs(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(stderr, err)
		}
		defer func() {
			if code != 0 {
				for _, d := range created { // deepest first; only if empty
					os.Remove(d)
				}
			}
		}()
	}

	fmt.Fprintf(stderr, "resolving %s\n", req.URL)
	plan, err := env.Resolve(ctx, req)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stderr, "%s: %s, %d pages\n", plan.Site, plan.Title, plan.Pages)
	if len(plan.Credits) > 0 {
		fmt.Fprintf(stderr, "credits: %s\n", strings.Join(plan.Credits, ", "))
	}

	rep := newReporter(stderr, plan.Pages)
	res, err := env.Run(ctx, plan, pipeline.RunOptions{Dir: dir, File: file, Progress: rep.update})
	rep.finish()
	if res != nil {
		for _, f := range res.Failed {
			if len(plan.Chapters) > 1 {
				fmt.Fprintf(stderr, "%s: ", pipeline.ChapterTitle(plan.Chapters[f.Chapter-1]))
			}
			fmt.Fprintf(stderr, "page %d failed: %s\n", f.Page, f.Reason)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "bot: %v\n", e)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, n)
	}
	for _, f := range res.Fitted {
		fmt.Fprintf(stderr, "%s: %s; similarity %.3f (worst page %.3f), %d pages re-encoded, %d grey\n",
			filepath.Base(f.File), f.Result, f.SSIM, f.WorstSSIM, f.Converted, f.Gray)
	}
	for _, f := range res.Files {
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintf(stderr, "%d pages, %d failed, %s\n", res.Pages, len(res.Failed), humanize.Bytes(res.Bytes))
	return 0
}

// fitFlags applies -max-bytes and checks -fit: shrink needs a size to
// fit, and link is the bot's (a shell has nothing to link to).
func fitFlags(env *pipeline.Env, req *pipeline.Request, maxBytes string) error {
	if maxBytes != "" {
		n, err := humanize.ParseBytes(maxBytes)
		if err != nil {
			return fmt.Errorf("-max-bytes: %w", err)
		}
		if n > 0 && n < pdf.MinFileBytes {
			return fmt.Errorf("-max-bytes: at least %s, got %s", humanize.Bytes(pdf.MinFileBytes), humanize.Bytes(n))
		}
		env.PDF.MaxFileBytes = n
	}
	switch req.Fit {
	case "", pipeline.FitParts, pipeline.FitShrink:
	case pipeline.FitLink:
		return fmt.Errorf("-fit link is for the bot; use parts or shrink")
	default:
		return fmt.Errorf("-fit: unknown %q (use parts or shrink)", req.Fit)
	}
	if req.Fit == "" && env.Fit.Mode == pipeline.FitLink {
		req.Fit = pipeline.FitParts // the config's link is the bot's
	}
	if req.Fit == pipeline.FitShrink && env.PDF.MaxFileBytes == 0 {
		return fmt.Errorf("-fit shrink needs -max-bytes (or [output] max_file_bytes)")
	}
	return nil
}

// missingDirs lists dir and its ancestors that do not exist yet, deepest
// first.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			return out
		}
		out = append(out, d)
	}
}

// flagsFirst moves flags that follow positional arguments to the front, so
// both `fetch -o x URL` and `fetch URL -o x` work.
func flagsFirst(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && name != "merge" && name != "strip" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// reporter shows progress: a bar on a terminal, plain lines otherwise.
type reporter struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	lastLine time.Time
	stage    string
}

func newReporter(w io.Writer, total int) *reporter {
	r := &reporter{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("pages"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowBytes(false),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	return r
}

func (r *reporter) update(p pipeline.Progress) {
	// Failures are listed at the end with reasons; the lines and the bar
	// count them from p.PagesFailed.
	if r.bar != nil {
		_ = r.bar.Set(p.PagesDone + p.PagesFailed)
		if p.Stage != r.stage {
			r.bar.Describe(p.Stage)
		}
		r.stage = p.Stage
		return
	}
	// Plain lines: at most one a second, plus every stage change.
	if p.Stage != r.stage || time.Since(r.lastLine) >= time.Second || p.PagesDone+p.PagesFailed == p.PagesTotal {
		if p.Stage == r.stage && p.Last == nil {
			return
		}
		r.lastLine = time.Now()
		r.stage = p.Stage
		fmt.Fprintf(r.w, "%s: %d/%d pages, %d failed, %s\n", p.Stage, p.PagesDone, p.PagesTotal, p.PagesFailed, humanize.Bytes(p.Bytes))
	}
}

func (r *reporter) finish() {
	if r.bar != nil {
		// The bar throttles redraws; show the real end before clearing.
		_ = r.bar.Set(r.bar.GetMax())
		_ = r.bar.Finish()
	}
}
