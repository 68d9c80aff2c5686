package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mangabot/mangabot/book"
	"github.com/mangabot/mangabot/browser"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/download"
	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/sanitize"
	"github.com/mangabot/mangabot/pdf"
	"github.com/mangabot/mangabot/sites"
)

// Version is set by the linker (-X) or left as "dev".
var Version = "dev"

// Env is everything a job needs; one per process, shared by every job.
type Env struct {
	Fetcher *download.Fetcher
	Sites   *sites.Set
	SiteEnv sites.Env
	// Browser renders pages for the site handlers; nil when [browser]
	// is off. Close stops it.
	Browser *browser.Resolver
	// PDF configures the PDF writer; its Placeholders, MaxFileBytes and
	// MaxPixels apply to every format.
	PDF pdf.Options
	// Format is the default of requests that name none.
	Format   book.Format
	Producer string
	// Observe, when set, is told how long a stage of a run took. Stages:
	// the format ("pdf", "cbz", "epub"), each file (or set of parts)
	// written successfully. Called from the job's goroutine; must not block.
	Observe func(stage string, d time.Duration)
	// Fit is how files over PDF.MaxFileBytes are fitted by default, and
	// whether chapters are stitched into strips.
	Fit FitPolicy
	// ObserveFit, when set, is told of every shrunk file (nil: shrinking
	// gave way to parts). Called from the job's goroutine.
	ObserveFit func(*fit.Result)
}

// Options are hooks for New (metrics); the zero value adds none.
type Options struct {
	// Observer is given to the fetcher (download.Options.Observer).
	Observer download.Observer
	// Observe becomes Env.Observe.
	Observe func(stage string, d time.Duration)
	// ObserveFit becomes Env.ObserveFit.
	ObserveFit func(*fit.Result)
	// BrowserObserver is given to the headless browser (metrics).
	BrowserObserver browser.Observer
	// Logger gets the browser's messages (start, crash, refusals); nil:
	// none.
	Logger *slog.Logger
	// HostGate is given to the fetcher (download.Options.HostGate): the
	// per-host limit shared by the workers of a cluster.
	HostGate func(ctx context.Context, host string, rate float64, burst int) error
}

// New builds the process-wide fetcher and site handlers from config.
func New(cfg *config.Config, o Options) (*Env, error) {
	set, err := sites.NewSet(cfg.Sites.Options)
	if err != nil {
		return nil, err
	}
	nets, err := cfg.AllowNetworks()
	if err != nil {
		return nil, err
	}
	ua := UserAgent(cfg.Download)
	var limits []download.HostLimit
	for _, info := range sites.All() {
		if h, ok := set.Get(info.Name); ok {
			if l, ok := h.(sites.Limiter); ok {
				limits = append(limits, l.Limits()...)
			}
		}
	}
	d := cfg.Download
	f := download.New(download.Options{
		UserAgent:      ua,
		Rate:           d.Rate,
		Burst:          d.Burst,
		Concurrency:    d.Concurrency,
		MaxInFlight:    d.MaxInFlight,
		Retries:        retries(d.Retries),
		ConnectTimeout: d.ConnectTimeout.Duration,
		HeaderTimeout:  d.HeaderTimeout.Duration,
		RequestTimeout: d.RequestTimeout.Duration,
		MaxImageBytes:  d.MaxImageBytes,
		MaxPages:       d.MaxPages,
		AllowNetworks:  nets,
		HostLimits:     limits,
		Observer:       o.Observer,
		HostGate:       o.HostGate,
	})
	env := &Env{
		Fetcher: f,
		Sites:   set,
		SiteEnv: sites.Env{Client: f.Client(), UserAgent: ua, MaxChapters: cfg.Sites.MaxChapters},
		Browser: newBrowser(cfg.Browser, nets, ua, o),
		PDF: pdf.Options{
			DPI:          cfg.Output.DPI,
			Placeholders: cfg.Output.Placeholders,
			MaxFileBytes: cfg.Output.MaxFileBytes,
			LossyWebP:    cfg.PDF.LossyWebP,
			JPEGQuality:  cfg.PDF.JPEGQuality,
			// One budget for every job of the process.
			Budget: pdf.NewBudget(cfg.PDF.DecodeMemory),
		},
		Format:     book.Format(cfg.Output.Format),
		Producer:   "mangabot " + Version,
		Observe:    o.Observe,
		Fit:        fitPolicy(cfg.Output),
		ObserveFit: o.ObserveFit,
	}
	if env.Browser != nil {
		env.SiteEnv.Renderer = env.Browser
		env.SiteEnv.AutoRender = cfg.Browser.Auto
	}
	return env, nil
}

// retries maps the config's count (0 = none) onto download.Options, whose
// zero value means "default".
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// UserAgent is the honest User-Agent: the configured one, or
// "mangabot/VERSION (+contact)".
func UserAgent(d config.Download) string {
	if d.UserAgent != "" {
		return d.UserAgent
	}
	ua := "mangabot/" + Version
	if d.Contact != "" {
		ua += " (+" + d.Contact + ")"
	} else {
		ua += " (+https://github.com/mangabot/mangabot)"
	}
	return ua
}

// Request is what a user asked for.
type Request struct {
	URL      string
	Chapters string // selection, series links only
	Language string
	Quality  string // "original" | "data-saver" | ""
	Merge    bool   // one file per volume (or one file) instead of one per chapter
	Format   string // "pdf" | "cbz" | "epub"; "": Env.Format (Resolve fills it in)
	Fit      string // FitParts, FitLink, FitShrink; "": the Env's default
	Strip    bool   // stitch each chapter into a strip cut at blank gaps (also when the Env says so)
}

// Key identifies identical requests (for sharing one download).
func (r Request) Key() string {
	return strings.Join([]string{strings.TrimSpace(r.URL), r.Chapters, r.Language, r.Quality, fmt.Sprint(r.Merge), r.Format, r.Fit, fmt.Sprint(r.Strip)}, "\x00")
}

// Plan is a resolved request.
type Plan struct {
	Site     string
	Request  Request
	Chapters []*sites.Chapter
	Title    string
	Credits  []string
	Pages    int
	resolved time.Time
}

// Resolve checks the URL and resolves it through the site handler. Errors
// are one line, fit to show a user.
func (e *Env) Resolve(ctx context.Context, req Request) (*Plan, error) {
	u, err := sites.ParseURL(strings.TrimSpace(req.URL))
	if err != nil {
		return nil, err
	}
	switch req.Quality {
	case "", "original", "data-saver":
	case "data": // MangaDex's own word for original
		req.Quality = "original"
	default:
		return nil, fmt.Errorf("unknown quality %q (use original or data-saver)", req.Quality)
	}
	if err := checkFit(req.Fit); err != nil {
		return nil, err
	}
	if _, err := sites.ParseSelection(req.Chapters); err != nil {
		return nil, err
	}
	if req.Format, err = e.format(req.Format); err != nil {
		return nil, err
	}
	name, h, err := e.Sites.Match(u)
	if err != nil {
		return nil, err
	}
	chs, err := h.Resolve(ctx, e.SiteEnv, sites.Request{URL: u, Chapters: req.Chapters, Language: req.Language, Quality: req.Quality})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", name, cleanError{Friendly(err)})
	}
	p := &Plan{Site: name, Request: req, resolved: time.Now()}
	for _, c := range chs {
		n := pageCount(c)
		if n == 0 {
			continue
		}
		cleanChapter(c)
		if c.Site == "" {
			c.Site = name
		}
		p.Chapters = append(p.Chapters, c)
		p.Pages += n
	}
	if len(p.Chapters) > 0 && p.Chapters[0].Site != "" {
		// The site that read the page: an engine (madara, ...) when the
		// generic handler recognised one on an unknown host.
		p.Site = p.Chapters[0].Site
	}
	if len(p.Chapters) == 0 {
		return nil, fmt.Errorf("%s: %w: no pages found at %s", name, sites.ErrNoPages, u.Redacted())
	}
	p.Credits = credits(p.Chapters)
	if len(p.Chapters) == 1 {
		p.Title = ChapterTitle(p.Chapters[0])
	} else {
		first, last := p.Chapters[0], p.Chapters[len(p.Chapters)-1]
		p.Title = fmt.Sprintf("%s — %d chapters (%s to %s)", first.Series, len(p.Chapters), label(first), label(last))
	}
	return p, nil
}

// pageCount is the chapter's pages, loaded or announced (lazy chapters
// load their pages through Refresh when their turn comes).
func pageCount(c *sites.Chapter) int {
	if len(c.Pages) > 0 {
		return len(c.Pages)
	}
	if c.Refresh != nil {
		return c.PageCount
	}
	return 0
}

func credits(chs []*sites.Chapter) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range chs {
		for _, cr := range c.Credits {
			if cr != "" && !seen[cr] {
				seen[cr] = true
				out = append(out, cr)
			}
		}
	}
	return out
}

func label(c *sites.Chapter) string {
	var parts []string
	if c.Volume != "" {
		parts = append(parts, "Vol. "+c.Volume)
	}
	if c.Number != "" {
		parts = append(parts, "Ch. "+c.Number)
	}
	return strings.Join(parts, " ")
}

// ChapterTitle is "Series — Vol. 1 Ch. 12: Title" with what is known.
func ChapterTitle(c *sites.Chapter) string {
	s := c.Series
	if l := label(c); l != "" {
		if s != "" {
			s += " — "
		}
		s += l
	}
	if c.Title != "" {
		if s != "" {
			s += ": "
		}
		s += c.Title
	}
	if s == "" {
		s = c.SourceURL
	}
	return s
}

// Progress of a running plan.
type Progress struct {
	Chapter, Chapters                  int // 1-based chapter being fetched (the first unfinished), of how many
	download.Progress                      // of this chapter; Last is set when the event was its page
	PagesDone, PagesFailed, PagesTotal int
	Bytes                              int64
	Stage                              string // "downloading", "stitching strip", "shrinking pages", "building pdf"
}

// Output of a finished plan.
type Output struct {
	Files  []string
	Pages  int
	Failed []FailedPage // pages missing from the PDFs, with reasons
	Bytes  int64
	// Errors of chapters that produced no file while others did.
	Errors []error
	// Fitted are the files shrunk to fit (fit shrink).
	Fitted []Fitted
	// Notes are lines for people about how the result was fitted: shrink
	// giving way to parts, slices kept unstitched.
	Notes []string
}

// FailedPage is a page that is not in the PDF: its download failed, or the
// writer could not use what came (corrupt, too many pixels, ...).
type FailedPage struct {
	Chapter int    // 1-based chapter of the plan
	Page    int    // 1-based page of that chapter
	Reason  string // for people: "HTTP 404", "not an image", "corrupt image: ..."
}

func (f FailedPage) String() string { return fmt.Sprintf("page %d: %s", f.Page, f.Reason) }

// RunOptions say where a run writes.
type RunOptions struct {
	Dir string // where the PDFs go
	// File, when set, names the single output file (all chapters merged;
	// parts get -partN beside it).
	File string
	// WorkDir holds the downloaded pages. When set it is kept across
	// restarts (pages complete on disk are not fetched again) and removed
	// when the run ends, except when ctx was cancelled: then the caller
	// removes it or resumes from it. Empty: a temp dir under Dir.
	WorkDir string
	// KeepPages leaves WorkDir in place after a successful run too, so the
	// caller can build the PDFs again (smaller parts after a 413) with no
	// page request: a run over a complete work dir fetches nothing.
	KeepPages bool
	// Progress, when set, is told of every step: each page of each
	// chapter (Chapter says which; chapters overlap at their boundaries)
	// and the stage. Calls are serialised, from the fetcher's goroutines;
	// it must not block long.
	Progress func(Progress)
}

// outputDirError names the output directory the user chose, not the
// internal temp path the failing mkdir was given (".mangabot-job-…").
func outputDirError(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("output directory %s: %w", dir, err)
}

// Run downloads the plan's pages into the work dir and writes them, as
// they arrive and in order, into the PDF(s) in Dir: one per chapter (or
// per volume with Merge, or one File), each through a temp name renamed
// when complete; then it removes the pages. On error or cancel nothing of
// this run is left in Dir.
func (e *Env) Run(ctx context.Context, p *Plan, o RunOptions) (out *Output, err error) {
	progress, dir, file := o.Progress, o.Dir, o.File
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, outputDirError(dir, err)
	}
	tmp, keepPages := o.WorkDir, o.WorkDir != ""
	pdfOpts := e.PDF
	if keepPages {
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, err
		}
		defer func() {
			// A caller-owned work dir survives a cancelled run: the caller
			// decides whether that was a pause (resume later) or the end.
			if ctx.Err() == nil && !o.KeepPages {
				os.RemoveAll(tmp)
			}
		}()
	} else {
		// A folder of its own, resumed from if a killed run of the same
		// output left it; it holds the PDFs' temp files too, so that a
		// kill leaves nothing but this folder, which the next run reuses
		// or removes.
		w, err := openWorkDir(dir, workID(p.Request, dir, file))
		if err != nil {
			return nil, outputDirError(dir, err)
		}
		defer w.remove()
		tmp, pdfOpts.TempDir = w.path, w.path
	}
	out = &Output{}
	defer func() {
		if err != nil {
			// Nothing of a failed run stays; what failed and why does.
			for _, f := range out.Files {
				os.Remove(f)
			}
			out.Files, out.Pages, out.Bytes = nil, 0, 0
		}
	}()

	// derived holds pages made from the downloaded ones (strips, shrunk).
	derived := filepath.Join(tmp, "derived")
	// One window for the whole job: the next chapters' pages start while
	// the current one's slow pages are still coming, and each output is
	// written page by page as its pages arrive, in reading order.
	rctx, stop := context.WithCancel(ctx)
	win := e.Fetcher.NewWindow(rctx)
	chs := make([]*chapterRun, len(p.Chapters))
	for i, c := range p.Chapters {
		chs[i] = &chapterRun{c: c, no: i + 1, dir: filepath.Join(tmp, fmt.Sprint(i+1)), ready: make(chan struct{})}
	}
	tr := &tracker{st: Progress{Chapters: len(p.Chapters), PagesTotal: p.Pages, Stage: "downloading"}, progress: progress, chapters: make([]download.Progress, len(chs))}
	resolved := make(chan struct{})
	go func() {
		defer close(resolved)
		e.addChapters(rctx, win, chs, p.resolved, tr, keepPages)
	}()
	defer func() {
		stop()
		win.Close()
		<-resolved
	}()

	// Plans made without Resolve name no format: the default.
	fname, err := e.format(p.Request.Format)
	if err != nil {
		return nil, err
	}
	format := book.Format(fname)
	groups := group(chs, p.Request.Merge, file != "")
	names := map[string]bool{}
	for _, g := range groups {
		name := file
		if name == "" {
			name = uniqueName(dir, FileName(chapters(g), p.Request.Merge), format.Ext(), names)
		}
		var refs []FailedPage // chapter and page of each page handed to the writer
		var inGroup []int     // each page's chapter, as an index into g
		var waited time.Duration
		built := time.Now()
		pages := func(yield func(int, book.Page) bool) {
			for k, ch := range g {
				if !ch.wait(rctx) || ch.err != nil {
					continue
				}
				for i := range ch.c.Pages {
					t0 := time.Now()
					r, err := ch.fl.Page(rctx, i)
					waited += time.Since(t0)
					if err != nil {
						return // cancelled: the writer sees ctx's error
					}
					pg := book.Page{Path: r.Path}
					if r.Err != nil {
						pg = book.Page{Err: r.Err}
					}
					refs = append(refs, FailedPage{Chapter: ch.no, Page: i + 1})
					inGroup = append(inGroup, k)
					if !yield(len(refs)-1, pg) {
						return
					}
				}
			}
			// Every page is in: only the trailer remains.
			tr.stage("building " + string(format))
		}
		meta := e.meta(chapters(g))
		var fitted *fit.Result
		if e.wholeChapters(p.Request) {
			// Stitching and shrinking need the group's pages all in.
			var all []book.Page
			var err error
			all, refs, fitted, err = e.fitGroup(rctx, p.Request, g, derived, pdfInfo(meta), tr, out)
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				return out, err
			}
			// Stitched pages keep their chapter.
			inGroup = inGroup[:0]
			for _, r := range refs {
				inGroup = append(inGroup, groupIndex(g, r.Chapter))
			}
			pages = func(yield func(int, book.Page) bool) {
				for i, pg := range all {
					if !yield(i, pg) {
						return
					}
				}
				tr.stage("building " + string(format))
			}
		}
		// Pages stream in: a page's chapter is known once it is yielded.
		meta.ChapterIndex = func(i int) int { return inGroup[i] }
		files, stats, err := e.write(rctx, format, name, pages, meta, pdfOpts, expected(g))
		// Stitched and shrunk pages are made again from the downloaded
		// ones whenever needed.
		os.RemoveAll(derived)
		if err == nil && fitted != nil {
			out.Fitted = append(out.Fitted, Fitted{File: files[0], Result: fitted})
		}
		tr.stage("downloading")
		if err == nil && e.Observe != nil {
			e.Observe(string(format), time.Since(built)-waited)
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		for _, ch := range g {
			if ch.err != nil {
				// One chapter failing does not sink the others.
				err := fmt.Errorf("%s: %w", ChapterTitle(ch.c), ch.err)
				if len(p.Chapters) == 1 {
					return out, err
				}
				out.Errors = append(out.Errors, err)
			}
		}
		// Every page the PDF lacks, whether the download or the writer
		// dropped it, is reported with its reason.
		for _, sk := range stats.Skipped {
			if sk.Index >= 0 && sk.Index < len(refs) {
				f := refs[sk.Index]
				f.Reason = sanitize.Text(sk.Reason)
				out.Failed = append(out.Failed, f)
			}
		}
		if err != nil {
			if len(refs) == 0 && errors.Is(err, pdf.ErrNoPages) {
				continue // its chapters failed; their errors say why
			}
			if errors.Is(err, pdf.ErrNoPages) {
				err = fmt.Errorf("%w: all %d pages of %s failed", sites.ErrNoPages, len(refs), ChapterTitle(g[0].c))
			}
			if len(groups) == 1 {
				return out, err
			}
			out.Errors = append(out.Errors, err)
		}
		out.Files = append(out.Files, files...)
		out.Pages += stats.Pages
		out.Bytes += stats.Bytes
		// Pages of written chapters go now, so disk use does not grow with
		// the number of chapters; a resumable run keeps them until it ends,
		// since a restart re-runs every chapter.
		if !keepPages {
			for _, ch := range g {
				if err := os.RemoveAll(ch.dir); err != nil {
					return out, err
				}
			}
		}
	}
	if len(out.Files) == 0 {
		if len(out.Errors) > 0 {
			return out, out.Errors[0]
		}
		return out, fmt.Errorf("%w: no %s could be written", sites.ErrNoPages, strings.ToUpper(string(format)))
	}
	return out, nil
}

// chapterRun is one chapter of a running plan: its page list is loaded
// and its batch added to the job's window by addChapters, ahead of the
// writer.
type chapterRun struct {
	c     *sites.Chapter
	no    int // 1-based, in the plan
	dir   string
	ready chan struct{} // closed when fl or err is set
	fl    *download.Flight
	err   error
}

// wait blocks until the chapter is in the window or failed to get there.
func (ch *chapterRun) wait(ctx context.Context) bool {
	select {
	case <-ch.ready:
		return true
	case <-ctx.Done():
		return false
	}
}

func chapters(g []*chapterRun) []*sites.Chapter {
	out := make([]*sites.Chapter, len(g))
	for i, ch := range g {
		out[i] = ch.c
	}
	return out
}

// lookahead is how many windows' worth of pages wait queued before the
// next chapter's page list is loaded: enough to keep the window full
// across a boundary while a page list loads (a MangaDex@Home round trip),
// few enough that expiring page URLs are fresh when their turn comes.
const lookahead = 4

// addChapters loads each chapter's page list (lazy chapters, expired URLs)
// and adds its batch to the window, in order, each once the pages queued
// before it run low. durable: the pages are resumed after a restart.
func (e *Env) addChapters(ctx context.Context, win *download.Window, chs []*chapterRun, resolved time.Time, tr *tracker, durable bool) {
	for _, ch := range chs {
		win.WaitQueue(ctx, lookahead*e.Fetcher.Concurrency())
		if ctx.Err() != nil {
			ch.err = ctx.Err()
			close(ch.ready)
			continue
		}
		ch.err = e.loadPages(ctx, ch.c, resolved, tr)
		if ch.err == nil {
			ch.err = os.MkdirAll(ch.dir, 0o755)
		}
		if ch.err == nil {
			ch.fl, ch.err = win.Add(download.Batch{Pages: ch.c.Pages, Dir: ch.dir, Refresh: ch.c.Refresh, Report: ch.c.Report,
				Progress: func(dp download.Progress) { tr.chapter(ch.no, dp) },
				// Pages in a temp dir of ours are gone after a crash anyway.
				NoSync: !durable})
		}
		close(ch.ready)
	}
}

// tracker sums the chapters' progress for the run's Progress, one call at
// a time.
type tracker struct {
	mu       sync.Mutex
	st       Progress
	chapters []download.Progress
	progress func(Progress)
}

// chapter takes a chapter's progress. The run's Chapter is the first one
// still downloading (the one being written), never going back, so that
// status lines read "chapter 3 of 10" while chapter 4 has begun too.
func (t *tracker) chapter(no int, dp download.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.chapters[no-1] = dp
	t.st.PagesDone, t.st.PagesFailed, t.st.Bytes = 0, 0, 0
	cur := 0
	for i, c := range t.chapters {
		t.st.PagesDone += c.Done
		t.st.PagesFailed += c.Failed
		t.st.Bytes += c.Bytes
		if cur == 0 && c.Total > 0 && c.Done+c.Failed < c.Total {
			cur = i + 1
		}
	}
	if cur == 0 {
		// Every started chapter is complete: the status stands on the
		// last of them, whichever chapter's page happened to land last.
		for i, c := range t.chapters {
			if c.Total > 0 {
				cur = i + 1
			}
		}
	}
	cur = max(cur, t.st.Chapter)
	t.st.Chapter, t.st.Progress = cur, t.chapters[cur-1]
	t.st.Progress.Last = nil
	if cur == no {
		t.st.Progress = dp
	}
	t.progress(t.st)
}

func (t *tracker) stage(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st.Stage != s {
		t.st.Stage = s
		if s != "downloading" {
			t.progress(t.st)
		}
	}
}

// loadPages makes sure c.Pages is loaded and fresh: lazy chapters load
// them now; chapters whose page URLs expire (RefreshAfter) get new ones.
func (e *Env) loadPages(ctx context.Context, c *sites.Chapter, resolved time.Time, tr *tracker) error {
	switch {
	case len(c.Pages) == 0 && c.Refresh != nil:
		pages, err := c.Refresh(ctx)
		if err != nil {
			return cleanError{err}
		}
		if len(pages) == 0 {
			return fmt.Errorf("%w: the chapter has no pages", sites.ErrNoPages)
		}
		tr.mu.Lock()
		tr.st.PagesTotal += len(pages) - c.PageCount
		tr.mu.Unlock()
		c.Pages = pages
	case c.Refresh != nil && c.RefreshAfter > 0 && time.Since(resolved) > c.RefreshAfter:
		if fresh, err := c.Refresh(ctx); err == nil && len(fresh) == len(c.Pages) {
			c.Pages = fresh
		}
	}
	return nil
}

// uniqueName picks dir/base+ext, or "base (2).pdf", ... when this run
// already wrote that name or a file of that name (or its parts) exists: a
// run never overwrites earlier results.
func uniqueName(dir, base, ext string, used map[string]bool) string {
	for i := 1; ; i++ {
		cand := base
		if i > 1 {
			cand = fmt.Sprintf("%s (%d)", base, i)
		}
		path := filepath.Join(dir, cand+ext)
		if used[path] || exists(path) || exists(filepath.Join(dir, cand+"-part2"+ext)) {
			continue
		}
		used[path] = true
		return path
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func clearDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// group splits chapters into output files: one per chapter, or with merge
// one per volume (one in all when volumes are unknown), or with single all
// in one (an explicit output file).
func group(chs []*chapterRun, merge, single bool) [][]*chapterRun {
	if single {
		return [][]*chapterRun{chs}
	}
	if !merge {
		out := make([][]*chapterRun, len(chs))
		for i, c := range chs {
			out[i] = []*chapterRun{c}
		}
		return out
	}
	var out [][]*chapterRun
	for i, c := range chs {
		if i > 0 && c.c.Volume == chs[i-1].c.Volume {
			out[len(out)-1] = append(out[len(out)-1], c)
			continue
		}
		out = append(out, []*chapterRun{c})
	}
	return out
}

// Friendly shortens network errors for people: `Get "https://x/y": dial
// tcp: lookup x on 10.0.0.53:53: no such host` becomes "cannot reach x: no
// such host". The original stays in the chain for errors.Is/As.
func Friendly(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	host := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	var blocked *download.BlockedError
	var dns *net.DNSError
	var op *net.OpError
	reason := ue.Err.Error()
	switch {
	case errors.As(err, &blocked):
		return &friendlyError{blocked.Error(), err}
	case ue.Timeout():
		reason = "timed out"
	case errors.As(err, &dns):
		reason = "no such host"
		if !dns.IsNotFound {
			reason = "DNS lookup failed"
		}
	case errors.As(err, &op) && op.Err != nil:
		reason = op.Err.Error()
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			reason = sys.Err.Error()
		}
	}
	return &friendlyError{"cannot reach " + host + ": " + reason, err}
}

type friendlyError struct {
	msg string
	err error
}

func (e *friendlyError) Error() string { return e.msg }
func (e *friendlyError) Unwrap() error { return e.err }
