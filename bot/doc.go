// Package bot is the Discord side of mangabot: slash commands, a job queue
// over the pipeline, status messages that follow progress within Discord's
// rate limits, cancel buttons, and delivery of the PDFs (attachments, parts
// or signed links).
//
// Where things are: commands.go (the /manga tree, routing, /manga sites
// and jobs), requests.go (/manga download: checks, resolving, the status
// response), cancel.go (the cancel button), queue.go (limits, sharing,
// scheduling), job.go (a job and its run), finish.go (a job's end),
// status.go (the edit loop of a status message), render.go (what a status
// message shows), deliver.go and upload.go (handing the files over),
// links.go (the Publisher of download links: the bot's own signed links,
// or another through Config.Links, such as S3 presigned URLs), runner.go (where a job's pipeline
// runs: this process, or a cluster's workers through Config.Runner), persist.go and resume.go (the job
// store), cache.go, quota.go, errors.go (what users see of errors, and
// Discord's error classes), redact.go, transport.go and logging.go,
// shards.go (Discord's recommended shard count);
// follow.go (/manga follow, unfollow, following; the follow poller's
// start) and followpost.go (posting found chapters, their Download
// button).
//
// # Follows
//
// The follow package finds new chapters and records them as pending
// before they are posted; followpost.go posts each (an announcement, with
// the PDF for pdf follows) with a nonce and enforce_nonce, and a chapter
// left pending by an earlier process is first looked for in the
// channel's last messages, so it is posted once. Discord's "gone" answers
// (unknown channel or guild, missing access) and GUILD_DELETE pause the
// follow.
//
// # Durable jobs
//
// With a store (Config.StorePath) every job is written to it when it is
// queued (before the status response goes out, and again with every
// watcher who joins, so all of them are delivered after a restart), when
// it starts, at most once a second while pages complete, when its files
// are made ("delivering", with the files), after each piece of the result
// is handed over (Delivered: the message that carries it) and when it
// ends: a cancelled or failed job before its final edits, a delivered one
// as done, or failed when its delivery failed. Pages go to
// store.JobDir(OutputDir, id) and the PDFs to that dir + ".out", so
// store.CleanOrphans at start removes the dirs of jobs that are gone;
// pipeline.CleanStale removes the work folders of dead `bot fetch` runs
// into the same directory.
//
// Finished jobs stay in the store with their final state (for
// inspection) and are deleted at the first start a day after they ended.
//
// At start unfinished jobs are registered at once (listed, cancellable),
// then, after the gateway is up, resolved again in parallel with the
// same id and status messages: queued and running ones are queued (pages
// already on disk are not fetched again); a job that was delivering sends
// only what it had not sent (and nothing when its status message already
// carries the file). Jobs stopped by a shutdown are "paused": they stay
// unfinished in the store and resume too.
package bot
