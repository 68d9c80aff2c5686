package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The label values the cluster counters start with (at 0, so a scrape
// shows them before the first job).
var (
	workerOutcomes = []string{"done", "failed", "cancelled", "duplicate", "gave_up", "requeued"}
	gatewayEvents  = []string{"published", "delivered", "failed", "cancelled", "gave_up"}
)

// Cluster adds the metrics of a cluster role (gateway or worker):
// mangabot_cluster_info{role}, mangabot_cluster_nats_connected (from
// connected, at each scrape) and, on a worker,
// mangabot_cluster_jobs_total{outcome} (ClusterJob counts it), on a
// gateway mangabot_cluster_gateway_jobs_total{event} (ClusterGatewayJob).
// Call it once, at start.
func (m *Metrics) Cluster(role string, connected func() bool) {
	if m == nil {
		return
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mangabot_cluster_info", Help: "1, labelled with this process's cluster role.",
		ConstLabels: prometheus.Labels{"role": role},
	})
	info.Set(1)
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mangabot_cluster_nats_connected", Help: "1 while the connection to NATS is up.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(info, up)
	if role == "gateway" {
		m.clusterGateway.Store(m.counters(gatewayEvents, prometheus.CounterOpts{
			Name: "mangabot_cluster_gateway_jobs_total",
			Help: "Jobs this gateway published to the workers, and how they came back: delivered (files taken), failed, cancelled; gave_up: failed by this gateway because every delivery's worker stopped.",
		}, "event"))
		return
	}
	m.clusterJobs.Store(m.counters(workerOutcomes, prometheus.CounterOpts{
		Name: "mangabot_cluster_jobs_total",
		Help: "Job deliveries a worker handled, by outcome (done, failed, cancelled, duplicate, gave_up, requeued).",
	}, "outcome"))
}

// counters registers a counter vector with each of values at 0.
func (m *Metrics) counters(values []string, o prometheus.CounterOpts, label string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(o, []string{label})
	for _, v := range values {
		c.WithLabelValues(v)
	}
	m.reg.MustRegister(c)
	return c
}

// ClusterJob counts a job delivery a worker handled (see Cluster).
func (m *Metrics) ClusterJob(outcome string) {
	if m == nil {
		return
	}
	if c := m.clusterJobs.Load(); c != nil {
		c.WithLabelValues(outcome).Inc()
	}
}

// ClusterGatewayJob counts a job event of a gateway (see Cluster).
func (m *Metrics) ClusterGatewayJob(event string) {
	if m == nil {
		return
	}
	if c := m.clusterGateway.Load(); c != nil {
		c.WithLabelValues(event).Inc()
	}
}
