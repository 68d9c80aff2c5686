package pipeline

import "errors"

// ErrStopping is the cancel cause of a run whose process is stopping, as
// opposed to a member's cancel: a run that goes on elsewhere (a cluster
// worker) is left running, for the restarted process to take up.
var ErrStopping = errors.New("the bot is shutting down")
