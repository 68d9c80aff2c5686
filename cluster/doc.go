// Package cluster runs the bot's jobs on workers over NATS JetStream: the
// gateway (the Discord side, `bot run -role gateway`) publishes jobs and
// delivers their files, workers (`bot run -role worker`) run the pipeline.
//
// What lives where, for prefix P (default "mangabot"):
//
//	stream P_JOBS, subjects P.jobs.<host>   work queue: one message per job,
//	                                        removed when a worker acks it
//	consumer P-workers                      durable pull, explicit ack,
//	                                        AckWait renewed by InProgress()
//	                                        heartbeats, MaxDeliver bounded
//	stream P_GIVEUPS                        the consumer's max-deliveries
//	                                        advisories, kept until a gateway
//	                                        (durable consumer P-gateways)
//	                                        fails the job (advisory.go)
//	KV P-jobs, key <job id>                 the job's state (Record), every
//	                                        change a revision-checked Update;
//	                                        a gateway watches the bucket once
//	                                        for all its jobs
//	KV P-limits, key <host>                 the shared per-host token bucket
//	KV P-pages, key <job>.<chapter>.<page>  pages a worker fetched so far,
//	                                        in the object store as
//	                                        <job>/p/<chapter>/<file>
//	object store P-files, <job id>/<n>      finished files until delivered
//	  or S3 ([cluster] s3_*),                 the same, outside NATS; swept
//	  <s3_prefix>jobs/<job>/<attempt>.<n>/<name>  by gateways after result_ttl
//	KV P-bot-jobs, P-bot-quota,             the bot's own store (Store: the
//	  P-bot-follows                         store.Store contract), shared by
//	                                        every gateway and `bot follow`
//	core subject P.progress.<job id>        progress, fire and forget
//	core subject P.cancel.<job id>          cancel, to the worker running it
//
// Exactly once: a job's files reach Discord only from the gateway that
// moves its record from done to delivered (a revision-checked Update), so a
// job run twice (a worker thought dead finishing late, a duplicate
// message) is delivered once; the second result finds the record done and
// throws its files away. A worker that dies mid-job stops sending
// heartbeats; after AckWait the job goes to another worker, which takes
// the pages the first one stored (about once a second) and fetches only
// the rest — at most max_attempts times, then the user is told (by the
// worker of the extra delivery, or, if it dies too, by a gateway on the
// max-deliveries advisory).
//
// Streams and buckets are created when missing and never rewritten at
// start (ensureStream, ensureKV): every process runs the setup.
package cluster
