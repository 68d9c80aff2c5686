// Package metrics is mangabot's Prometheus instrumentation: a registry of
// its own (no global state), the collectors operators watch, an Observer
// for the fetcher, a stage hook for the pipeline, and the /metrics and
// /healthz handlers. Neither download nor pipeline imports it: they expose
// plain hooks (download.Observer, pipeline.Env.Observe) that it fills.
//
//	m := metrics.New()
//	env, _ := pipeline.New(cfg, m.PipelineOptions())
//	m.QueueLengthFunc(...); m.GatewayFunc(...) // or the Set* methods
//	mux.Handle("/metrics", m.Handler())
//	mux.Handle("/healthz", metrics.Health(m.GatewayConnected))
//
// The bot reports job transitions with JobQueued, JobStarted and
// JobFinished, keyed by job id.
package metrics
