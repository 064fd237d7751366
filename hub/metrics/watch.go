package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tasks is the scheduler's state, read at each scrape.
type Tasks struct {
	// Connections counts contributor sessions past the handshake.
	Connections int
	// Totals since the hub started.
	Leased, Completed, Expired, Requeued, Dropped, Replicated, GrantErrors uint64
	// ComputedHere counts tasks the hub computed itself: no connected
	// contributor of their job might take them.
	ComputedHere uint64
	// Queued tasks wait for a contributor; InFlight ones are leased.
	Queued, InFlight int
	// Wire holds each job's bytes on contributors' websockets and its
	// useful arithmetic (hub.WireStats), by job.
	Wire map[string]Wire
}

// Wire is one job's wire totals since the hub started.
type Wire struct {
	Down, Up    int64
	UsefulFLOPs uint64
}

// Commits is the epoch committer's state, read at each scrape.
type Commits struct {
	// Models holds each model's latest epoch committed on-chain.
	Models map[string]Committed
	// Failures counts commit rounds that failed (retried with backoff).
	Failures uint64
	// Pending counts epochs prepared or sent but not yet committed.
	Pending int
}

// Committed is a model's latest committed epoch.
type Committed struct {
	Epoch uint64
	// At is when it was recorded as committed; zero if unknown.
	At time.Time
}

// WatchTasks makes each scrape report f's result. The hub calls it once.
func (m *Metrics) WatchTasks(f func() Tasks) {
	if m != nil {
		m.watched.tasks.Store(&f)
	}
}

// WatchCommits makes each scrape report f's result.
func (m *Metrics) WatchCommits(f func() Commits) {
	if m != nil {
		m.watched.commits.Store(&f)
	}
}

// watcher is the collector of what WatchTasks and WatchCommits report.
type watcher struct {
	tasks   atomic.Pointer[func() Tasks]
	commits atomic.Pointer[func() Commits]

	connections, queued, inFlight                                          *prometheus.Desc
	leased, completed, expired, requeued, dropped, replicated, grantErrors *prometheus.Desc
	computedHere                                                           *prometheus.Desc
	epoch, committedAt, failures, pending                                  *prometheus.Desc
	wireBytes, usefulFLOPs, bytesPerGFLOP                                  *prometheus.Desc
}

func newWatcher() *watcher {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &watcher{
		connections: d("tessera_connections", "Contributor connections open now (past the handshake)."),
		queued:      d("tessera_tasks_queued", "Tasks waiting on the hub's queue for a contributor."),
		inFlight:    d("tessera_tasks_in_flight", "Tasks leased to contributors and not yet returned."),
		leased:      d("tessera_tasks_leased_total", "Task leases granted to contributors (a requeued task is leased again)."),
		completed:   d("tessera_tasks_completed_total", "Results accepted (verified, or pending a replica's agreement)."),
		expired:     d("tessera_tasks_expired_total", "Leases that ran past their deadline; the task was requeued for someone else."),
		requeued:    d("tessera_tasks_requeued_total", "Tasks put back on the queue: expired, refused, or held by a contributor who left."),
		dropped:     d("tessera_tasks_dropped_total", "Leases that ended without a result and were not requeued: a removed or finished job's tasks, or those of kept weights whose lease ended without an accepted result."),
		replicated:  d("tessera_tasks_replicated_total", "Tasks sampled for a second execution by another contributor."),
		grantErrors: d("tessera_lease_grant_errors_total", "Leases cancelled because the exposure record could not be written."),
		computedHere: d("tessera_tasks_computed_by_hub_total",
			"Tasks the hub computed itself because no connected contributor of their job might take them under its exposure cap."),
		epoch:       d("tessera_chain_last_committed_epoch", "The latest credit epoch committed on-chain, by model.", "model"),
		committedAt: d("tessera_chain_last_commit_timestamp_seconds", "Unix time the model's latest epoch was recorded as committed.", "model"),
		failures:    d("tessera_chain_commit_failures_total", "Commit rounds that failed; the committer retries with backoff and loses no credit."),
		pending:     d("tessera_chain_epochs_pending", "Epochs prepared or sent but not yet committed on-chain."),
		wireBytes: d("tessera_wire_bytes_total",
			"Bytes of a job's task, result and verdict frames on contributors' websockets (frame headers included), by direction (down: to contributors).", "job", "direction"),
		usefulFLOPs: d("tessera_useful_flops_total", "Arithmetic of a job's tasks whose results it received, each task once (replicas excluded).", "job"),
		bytesPerGFLOP: d("tessera_wire_bytes_per_gflop",
			"Since the hub started: tessera_wire_bytes_total (both directions) per useful GFLOP; for a window use the rates of the two counters.", "job"),
	}
}

// Describe implements prometheus.Collector.
func (w *watcher) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		w.connections, w.queued, w.inFlight, w.leased, w.completed, w.expired, w.requeued, w.dropped, w.replicated, w.grantErrors, w.computedHere,
		w.epoch, w.committedAt, w.failures, w.pending, w.wireBytes, w.usefulFLOPs, w.bytesPerGFLOP,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (w *watcher) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	if f := w.tasks.Load(); f != nil {
		t := (*f)()
		gauge(w.connections, float64(t.Connections))
		gauge(w.queued, float64(t.Queued))
		gauge(w.inFlight, float64(t.InFlight))
		counter(w.leased, t.Leased)
		counter(w.completed, t.Completed)
		counter(w.expired, t.Expired)
		counter(w.requeued, t.Requeued)
		counter(w.dropped, t.Dropped)
		counter(w.replicated, t.Replicated)
		counter(w.grantErrors, t.GrantErrors)
		counter(w.computedHere, t.ComputedHere)
		for job, b := range t.Wire {
			ch <- prometheus.MustNewConstMetric(w.wireBytes, prometheus.CounterValue, float64(b.Down), job, "down")
			ch <- prometheus.MustNewConstMetric(w.wireBytes, prometheus.CounterValue, float64(b.Up), job, "up")
			ch <- prometheus.MustNewConstMetric(w.usefulFLOPs, prometheus.CounterValue, float64(b.UsefulFLOPs), job)
			if b.UsefulFLOPs > 0 {
				gauge(w.bytesPerGFLOP, float64(b.Down+b.Up)/(float64(b.UsefulFLOPs)/1e9), job)
			}
		}
	}
	if f := w.commits.Load(); f != nil {
		c := (*f)()
		for model, e := range c.Models {
			gauge(w.epoch, float64(e.Epoch), model)
			if !e.At.IsZero() {
				gauge(w.committedAt, float64(e.At.UnixNano())/1e9, model)
			}
		}
		counter(w.failures, c.Failures)
		gauge(w.pending, float64(c.Pending))
	}
}
