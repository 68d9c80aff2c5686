package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/fit"
	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/pdf"
)

// Fit modes: what a run does with a file over PDF.MaxFileBytes.
const (
	FitParts  = "parts"  // split it into parts
	FitLink   = "link"   // the bot links it; the run itself writes parts
	FitShrink = "shrink" // re-encode the pages so one file fits, parts when that cannot
)

// FitPolicy is the process-wide default of how results are fitted.
type FitPolicy struct {
	Mode   string      // FitParts (also when empty), FitLink or FitShrink
	Shrink fit.Options // floors; MaxBytes is set per run from PDF.MaxFileBytes
	// Strip stitches every chapter into a strip (requests may ask too).
	Strip        bool
	StripOptions fit.StripOptions
}

func fitPolicy(o config.Output) FitPolicy {
	return FitPolicy{
		Mode: o.Fit,
		Shrink: fit.Options{
			MaxWidth: o.FitMaxWidth, MinQuality: o.FitMinQuality,
			MinSSIM: o.FitMinSSIM, Grayscale: o.FitGrayscale,
		},
		Strip: o.WebtoonStrip,
		StripOptions: fit.StripOptions{
			PageRatio: o.StripPageRatio,
			// A page no taller than the PDF page side allows at this DPI
			// keeps its size (the writer would scale it down).
			MaxHeight: int(maxPageSide * o.DPI / 72),
		},
	}
}

// maxPageSide is the PDF writer's page side limit in units (Acrobat's).
const maxPageSide = 14400

// checkFit validates a request's fit mode.
func checkFit(mode string) error {
	switch mode {
	case "", FitParts, FitLink, FitShrink:
		return nil
	}
	return fmt.Errorf("unknown fit %q (use parts, link or shrink)", mode)
}

// Fitted is a file whose pages were shrunk to fit.
type Fitted struct {
	File string // the file (its first part, had the writer still split it)
	*fit.Result
}

// FitMode is the request's fit, or the default: FitParts, FitLink or
// FitShrink.
func (e *Env) FitMode(r Request) string {
	if r.Fit != "" {
		return r.Fit
	}
	if e.Fit.Mode == "" {
		return FitParts
	}
	return e.Fit.Mode
}

// wholeChapters reports whether a run needs a group's pages all in
// before writing: to stitch them into strips, or to shrink them to the
// size limit.
func (e *Env) wholeChapters(r Request) bool {
	return r.Strip || e.Fit.Strip || (e.FitMode(r) == FitShrink && e.PDF.MaxFileBytes > 0)
}

// fitGroup waits for the group's pages, stitches each chapter into a
// strip when asked, and shrinks the pages to PDF.MaxFileBytes with fit
// shrink. It returns the pages to write and, for each, its chapter and
// page (a strip's page counts as the first slice it holds).
func (e *Env) fitGroup(ctx context.Context, req Request, g []*chapterRun, derived string, info pdf.Info, tr *tracker, out *Output) ([]pdf.Page, []FailedPage, *fit.Result, error) {
	var pages []pdf.Page
	var refs []FailedPage
	for _, ch := range g {
		if !ch.wait(ctx) || ch.err != nil {
			continue
		}
		var chPages []pdf.Page
		var chRefs []FailedPage
		for i := range ch.c.Pages {
			r, err := ch.fl.Page(ctx, i)
			if err != nil {
				return nil, nil, nil, err
			}
			pg := pdf.Page{Path: r.Path}
			if r.Err != nil {
				pg = pdf.Page{Err: r.Err}
			}
			chPages, chRefs = append(chPages, pg), append(chRefs, FailedPage{Chapter: ch.no, Page: i + 1})
		}
		if req.Strip || e.Fit.Strip {
			tr.stage("stitching strip")
			var err error
			// Beside the chapters' dirs, which hold only what the fetcher
			// wrote (a rerun resumes from them).
			chPages, chRefs, err = e.stitch(ctx, filepath.Join(derived, fmt.Sprint(ch.no)), chPages, chRefs, out)
			if err != nil {
				return nil, nil, nil, err
			}
		}
		pages, refs = append(pages, chPages...), append(refs, chRefs...)
	}
	if len(pages) == 0 || e.FitMode(req) != FitShrink || e.PDF.MaxFileBytes <= 0 {
		return pages, refs, nil, nil
	}
	tr.stage("shrinking pages")
	pages, fitted, err := e.shrink(ctx, filepath.Join(derived, "shrink"), pages, info, nil, out)
	return pages, refs, fitted, err
}

// stitch turns each run of downloaded slices of a chapter into pages cut
// from one strip; failed slices stay in place as failed pages. A run that
// cannot be stitched keeps its slices, with a note.
func (e *Env) stitch(ctx context.Context, dir string, pages []pdf.Page, refs []FailedPage, out *Output) ([]pdf.Page, []FailedPage, error) {
	var np []pdf.Page
	var nr []FailedPage
	for i := 0; i < len(pages); {
		if pages[i].Path == "" {
			np, nr = append(np, pages[i]), append(nr, refs[i])
			i++
			continue
		}
		j := i
		var slices []string
		for ; j < len(pages) && pages[j].Path != ""; j++ {
			slices = append(slices, pages[j].Path)
		}
		res, err := fit.Strip(ctx, slices, filepath.Join(dir, fmt.Sprint(i+1)), e.Fit.StripOptions)
		switch {
		case err == nil:
			for _, p := range res.Paths {
				np, nr = append(np, pdf.Page{Path: p}), append(nr, refs[i])
			}
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		default:
			out.Notes = append(out.Notes, fmt.Sprintf("pages %d-%d kept as served: %v", refs[i].Page, refs[j-1].Page, err))
			np, nr = append(np, pages[i:j]...), append(nr, refs[i:j]...)
		}
		i = j
	}
	return np, nr, nil
}

// shrink re-encodes the group's pages to fit PDF.MaxFileBytes. It returns
// the pages to write and what shrinking did; nil when nothing needed to
// change or it gave way to parts (the reason is in out.Notes).
func (e *Env) shrink(ctx context.Context, dir string, pages []pdf.Page, info pdf.Info, progress func(done, total int), out *Output) ([]pdf.Page, *fit.Result, error) {
	paths := make([]string, len(pages))
	failed := 0
	for i, p := range pages {
		paths[i] = p.Path
		if p.Path == "" {
			failed++
		}
	}
	o := e.Fit.Shrink
	o.MaxBytes = e.PDF.MaxFileBytes - docBytes(len(pages), failed, info, e.PDF.Placeholders)
	o.Progress = progress
	if e.PDF.Budget != nil {
		o.Memory = e.PDF.Budget // one bound on decoded pages with the writers
	}
	res, err := fit.Shrink(ctx, paths, dir, o)
	var cf *fit.CannotFitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case errors.As(err, &cf):
		// The budget people know is the file's, not the pages' share.
		out.Notes = append(out.Notes, fmt.Sprintf("%s: cannot shrink to %s: %s; splitting into parts instead",
			info.Title, humanize.Bytes(e.PDF.MaxFileBytes), cf.Reason))
		if e.ObserveFit != nil {
			e.ObserveFit(nil)
		}
		return pages, nil, nil
	default:
		return nil, nil, fmt.Errorf("shrink pages: %w", err)
	}
	if res.Converted == 0 {
		return pages, nil, nil // it fitted as it was
	}
	np := make([]pdf.Page, len(pages))
	for i, p := range pages {
		np[i] = p
		if p.Path != "" {
			np[i].Path = res.Paths[i]
		}
	}
	if e.ObserveFit != nil {
		e.ObserveFit(res)
	}
	return np, res, nil
}

// docBytes bounds what a PDF adds to its page images, by the writer's own
// reckoning when it decides on parts (pdf's pageOverhead and
// docOverhead): a file shrunk within MaxFileBytes minus this is never
// split.
func docBytes(pages, failed int, info pdf.Info, placeholders bool) int64 {
	n := int64(4<<10+1024*pages) + int64(len(info.Title)+len(info.Author)+len(info.Subject)+len(info.Keywords))*2
	if placeholders {
		n += int64(2<<10) * int64(failed)
	}
	return n
}
