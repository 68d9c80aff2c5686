package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Cluster adds the metrics of a cluster role (gateway or worker):
// mangabot_cluster_info{role}, mangabot_cluster_nats_connected (from
// connected, at each scrape) and mangabot_cluster_jobs_total{outcome},
// which ClusterJob counts. Call it once, at start.
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
	jobs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mangabot_cluster_jobs_total",
		Help: "Job deliveries a worker handled, by outcome (done, failed, cancelled, duplicate, gave_up, requeued).",
	}, []string{"outcome"})
	m.reg.MustRegister(info, up, jobs)
	m.clusterJobs.Store(jobs)
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
