package dispatch

import "github.com/prometheus/client_golang/prometheus"

// metrics are the dispatcher's Prometheus collectors. They count whether or
// not they are registered, so the dispatcher needs no nil checks.
type metrics struct {
	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	relayed   prometheus.Counter
	lag       prometheus.Collector
}

func newMetrics(d *Dispatcher) *metrics {
	return &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cancuoc_events_delivered_total",
			Help: "Events handled successfully, per consumer."}, []string{"consumer"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cancuoc_event_handler_failures_total",
			Help: "Event handler errors (each is retried), per consumer."}, []string{"consumer"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cancuoc_events_relayed_total",
			Help: "Outbox events published to NATS JetStream (re-sent ones included)."}),
		lag: &lagCollector{d: d, desc: prometheus.NewDesc("cancuoc_event_consumer_lag",
			"Events waiting for a consumer: in-process, the distance from the newest event seen; with JetStream, the consumer's pending count.",
			[]string{"consumer"}, nil)},
	}
}

func (m *metrics) register(r prometheus.Registerer) {
	r.MustRegister(m.delivered, m.failures, m.relayed, m.lag)
}

// lagCollector reads each consumer's lag when scraped, so the value is
// never stale and costs nothing between scrapes.
type lagCollector struct {
	d    *Dispatcher
	desc *prometheus.Desc
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.d.Status() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.Lag), s.Name)
	}
}

// Describe implements prometheus.Collector, so that the dispatcher's
// metrics can be registered after it was created.
func (d *Dispatcher) Describe(ch chan<- *prometheus.Desc) {
	d.metrics.delivered.Describe(ch)
	d.metrics.failures.Describe(ch)
	d.metrics.relayed.Describe(ch)
	d.metrics.lag.Describe(ch)
}

// Collect implements prometheus.Collector.
func (d *Dispatcher) Collect(ch chan<- prometheus.Metric) {
	d.metrics.delivered.Collect(ch)
	d.metrics.failures.Collect(ch)
	d.metrics.relayed.Collect(ch)
	d.metrics.lag.Collect(ch)
}
