package bot

import (
	"context"

	"github.com/mangabot/mangabot/pipeline"
)

// Runner runs a job's plan and returns its files in opts.Dir: in this
// process (the default, localRunner) or on a worker of a cluster (package
// cluster), which sends the pages' progress back through opts.Progress.
// maxFile is the part size of the result (0: one file). id names the job
// everywhere (store, cluster state) and stays the same when it resumes.
type Runner interface {
	RunJob(ctx context.Context, id string, plan *pipeline.Plan, maxFile int64, opts pipeline.RunOptions) (*pipeline.Output, error)
}

// localRunner runs jobs on the bot's own pipeline.
type localRunner struct{ env *pipeline.Env }

func (r localRunner) RunJob(ctx context.Context, _ string, plan *pipeline.Plan, maxFile int64, opts pipeline.RunOptions) (*pipeline.Output, error) {
	env := *r.env
	env.PDF.MaxFileBytes = maxFile
	return env.Run(ctx, plan, opts)
}

// handedOver tells a runner that keeps results (a cluster's object store)
// that the job's outcome is now in the bot's own hands, so it may drop
// them; until then a restarted bot gets them again.
func (b *Bot) handedOver(j *job) {
	if !j.fromCache {
		b.handOver(j.id)
	}
}

func (b *Bot) handOver(id string) {
	if h, ok := b.runner.(interface{ HandedOver(id string) }); ok {
		h.HandedOver(id)
	}
}
