package cluster

import (
	"context"

	"github.com/mangabot/mangabot/pipeline"
)

// Queue publishes a job without waiting for it (tests leave its result
// untaken).
func (g *Gateway) Queue(ctx context.Context, id string, plan *pipeline.Plan) error {
	return g.publish(ctx, id, plan, 0)
}

// Cancel cancels a job as a cancelled RunJob does.
func (g *Gateway) Cancel(id string) { g.cancel(id) }
