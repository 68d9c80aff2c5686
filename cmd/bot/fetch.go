package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/pipeline"
)

// Exit statuses of bot fetch, for scripts (like wget's and gallery-dl's,
// partial success has a status of its own).
const (
	exitOK      = 0 // every page written
	exitFailed  = 1 // nothing written
	exitUsage   = 2 // bad command line; nothing written
	exitPartial = 3 // written, but some pages (or chapters) failed
)

func cmdFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	out := fs.String("o", ".", "output directory, or a file name ending in .pdf, .cbz or .epub")
	format := fs.String("format", "", "pdf, cbz or epub (default: [output] format, or the -o file's extension)")
	chapters := fs.String("chapters", "", "chapters of a series: 12, 1-5, 1,4,7-9, last or all")
	lang := fs.String("lang", "", "language code for series links (e.g. en)")
	quality := fs.String("quality", "", "original or data-saver (sites that offer both)")
	merge := fs.Bool("merge", false, "one file per volume (or one file) instead of one per chapter")
	overwrite := fs.Bool("overwrite", false, "replace the file given with -o FILE.pdf (.cbz, .epub) if it exists (a directory never has files replaced)")
	fitMode := fs.String("fit", "", "a file over -max-bytes: parts or shrink (re-encode the pages to fit one file); default [output] fit")
	maxBytes := fs.String("max-bytes", "", "largest file, e.g. 10MiB; default [output] max_file_bytes (0: no limit)")
	strip := fs.Bool("strip", false, "stitch each chapter into a strip cut into pages at blank gaps (webtoons)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bot fetch [-config F] [-o PATH] [-chapters SEL] [-lang CODE] [-quality Q] [-merge] [-overwrite] [-format pdf|cbz|epub] [-fit parts|shrink] [-max-bytes N] [-strip] URL")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "exit status: 0 every page written, 3 written but some pages failed, 1 nothing written, 2 bad usage")
	}
	// Flags may follow the URL too (bot fetch URL -o x.pdf).
	configFlag(fs)
	args, err := flagsFirst(fs, args)
	if err != nil {
		fmt.Fprintln(stderr, "bot: "+err.Error())
		return exitUsage
	}
	cfg, fs, rc := loadConfig(fs, args, stderr)
	if cfg == nil {
		return rc
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "bot: fetch takes exactly one URL (got %d)\n", fs.NArg())
		fs.Usage()
		return exitUsage
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
	req := pipeline.Request{URL: fs.Arg(0), Chapters: *chapters, Language: *lang, Quality: *quality, Merge: *merge, Format: *format, Fit: *fitMode, Strip: *strip}
	if *format != "" {
		if _, err := book.ParseFormat(*format); err != nil {
			return fail(stderr, err)
		}
	}
	if err := fitFlags(env, &req, *maxBytes); err != nil {
		fmt.Fprintln(stderr, "bot: "+err.Error())
		return exitUsage
	}
	return fetch(ctx, env, req, *out, *overwrite, stdout, stderr)
}

// fileFormat says whether -o names a file (it ends in a format's
// extension) and its format; anything else (".", "out/", "my.manga") is a
// directory. filepath.Ext(".") is ".", which names no format.
func fileFormat(out string) (book.Format, bool) {
	ext := strings.TrimPrefix(filepath.Ext(out), ".")
	if ext == "" {
		return "", false
	}
	f, err := book.ParseFormat(ext)
	return f, err == nil
}

// fetch resolves req and writes its file(s) to out (a directory, or a file
// ending in .pdf, .cbz or .epub, which names the format when req does
// not), showing progress on stderr and the written paths on stdout; it
// returns the exit status.
func fetch(ctx context.Context, env *pipeline.Env, req pipeline.Request, out string, overwrite bool, stdout, stderr io.Writer) (code int) {
	dir, file := out, ""
	if f, ok := fileFormat(out); ok {
		dir, file = filepath.Dir(out), out
		if req.Format == "" {
			req.Format = string(f)
		} else if !strings.EqualFold(req.Format, string(f)) {
			return fail(stderr, fmt.Errorf("-o %s does not end in .%s (-format %s)", out, strings.ToLower(req.Format), req.Format))
		}
		// Checked before anything is downloaded; directory mode never
		// replaces a file (it picks "Name (2).pdf").
		if _, err := os.Lstat(file); err == nil && !overwrite {
			return fail(stderr, fmt.Errorf("%s exists (use -overwrite to replace it)", file))
		}
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
			if code == exitFailed {
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
	fmt.Fprintf(stderr, "%s: %s, %d pages, as %s\n", plan.Site, plan.Title, plan.Pages, strings.ToUpper(plan.Request.Format))
	if len(plan.Credits) > 0 {
		fmt.Fprintf(stderr, "credits: %s\n", strings.Join(plan.Credits, ", "))
	}

	rep := newReporter(stderr, plan.Pages, time.Second)
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
	if len(res.Failed) > 0 || len(res.Errors) > 0 {
		return exitPartial
	}
	return exitOK
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
// both `fetch -o x URL` and `fetch URL -o x` work. A flag that needs a
// value and has none is an error naming the flag (the flag package would
// otherwise take the URL as its value, or print only the usage).
func flagsFirst(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || len(a) == 1 {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if hasValue || f == nil || isBool(f) {
			continue // unknown flags are the flag package's to report
		}
		if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1 {
			return nil, fmt.Errorf("flag -%s needs a value", name)
		}
		flags = append(flags, args[i+1])
		i++
	}
	return append(flags, pos...), nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// reporter shows progress: a bar on a terminal; otherwise (a log, a
// pipe) a line whenever the stage changes and, while it lasts, every
// interval if anything moved, so the count never lags behind for long.
type reporter struct {
	w   io.Writer
	bar *progressbar.ProgressBar

	mu      sync.Mutex
	last    pipeline.Progress
	changed bool   // last differs from what was printed
	stage   string // stage of the last line
	stop    chan struct{}
	done    chan struct{}
}

func newReporter(w io.Writer, total int, interval time.Duration) *reporter {
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
		return r
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.mu.Lock()
				if r.changed {
					r.line()
				}
				r.mu.Unlock()
			}
		}
	}()
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
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.changed = p, true
	if p.Stage != r.stage {
		r.line()
	}
}

// line prints the latest progress; r.mu is held. While building, the
// counts are of downloads: the writer's own failures are only known once
// it is done (and are in the summary).
func (r *reporter) line() {
	p := r.last
	r.stage, r.changed = p.Stage, false
	if p.Stage == "building pdf" {
		fmt.Fprintf(r.w, "%s: %d/%d pages downloaded, %d failed to download\n", p.Stage, p.PagesDone, p.PagesTotal, p.PagesFailed)
		return
	}
	fmt.Fprintf(r.w, "%s: %d/%d pages, %d failed, %s\n", p.Stage, p.PagesDone, p.PagesTotal, p.PagesFailed, humanize.Bytes(p.Bytes))
}

func (r *reporter) finish() {
	if r.bar != nil {
		// The bar throttles redraws; show the real end before clearing.
		_ = r.bar.Set(r.bar.GetMax())
		_ = r.bar.Finish()
		return
	}
	close(r.stop)
	<-r.done
}
