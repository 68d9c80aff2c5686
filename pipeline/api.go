// Package pipeline glues sites → download → pdf into one job, used by both
// the CLI (`bot fetch`) and the Discord bot.
package pipeline

// The API (implemented in pipeline.go):
//
//	type Env struct {
//		Fetcher  *download.Fetcher
//		Sites    *sites.Set
//		SiteEnv  sites.Env        // Client = Fetcher.Client()
//		PDF      pdf.Options      // MaxFileBytes etc.; the bot overrides MaxFileBytes per upload limit
//		Producer string           // "mangabot VERSION"
//	}
//
//	type Request struct {
//		URL      string
//		Chapters string // selection, series links only
//		Language string
//		Quality  string // "original" | "data-saver" | ""
//		Merge    bool   // one file per volume (or one file) instead of one per chapter
//	}
//
//	// Plan is a resolved request: checked URL and site, chapters with pages.
//	type Plan struct {
//		Site     string
//		Request  Request
//		Chapters []*sites.Chapter
//		Title    string   // for status messages: "Series — Ch. 12"
//		Credits  []string
//		Pages    int      // total pages over all chapters
//	}
//
//	// Resolve checks the URL and resolves it through the site handler.
//	// Errors are one line, fit to show a user (not a URL, unsupported site,
//	// nothing downloadable, site layout not recognised, ...).
//	func (e *Env) Resolve(ctx context.Context, req Request) (*Plan, error)
//
//	type Progress struct {
//		Chapter, Chapters int    // 1-based chapter being fetched, of how many
//		download.Progress        // of this chapter
//		PagesDone, PagesFailed, PagesTotal int // over the whole plan
//		Bytes   int64
//		Stage   string           // "downloading", "building pdf"
//	}
//
//	// Run downloads the plan's pages into a temp dir under outDir, writes
//	// the PDF(s) into outDir (temp name + rename) and removes the pages.
//	// On error or cancel, nothing is left in outDir.
//	func (e *Env) Run(ctx context.Context, p *Plan, outDir string, progress func(Progress)) (*Output, error)
//
//	type Output struct {
//		Files  []string // written PDFs in order (parts: -part2, -part3, ... beside the first)
//		Pages  int      // pages in the PDFs
//		Failed []download.PageResult // failed pages with reasons
//		Bytes  int64
//	}
