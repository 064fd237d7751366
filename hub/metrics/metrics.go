// Package metrics is the hub's Prometheus instrumentation: one *Metrics per
// hub process, holding a private registry (tests run several hubs in one
// process) with the Go and process collectors and Tessera's own families.
//
// Events that happen anyway on a hot path (a verification, a lease) cost
// one atomic add or one histogram observation; totals the hub already
// keeps (tasks leased, completed, expired; the committer's state) are read
// only when Prometheus scrapes, through the functions given to WatchTasks
// and WatchCommits. Every method is safe on a nil *Metrics, which records
// nothing, so each part of the hub stays usable and testable without it.
//
// Entry points: New, (*Metrics).Handler for GET /metrics, and the
// recording methods named after what they record.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcome is the result of one verification step.
type Outcome int

// Verification outcomes (label "outcome" of tessera_verifications_total).
const (
	// Pass: the Freivalds check accepted the result.
	Pass Outcome = iota
	// Fail: the Freivalds check proved the result wrong.
	Fail
	// ArbitratedPass: borderline, and the exact product accepted it.
	ArbitratedPass
	// ArbitratedFail: borderline, and the exact product refused it.
	ArbitratedFail
	// ArbiterError: the hub could not compute the exact product.
	ArbiterError
	// ReplicaAgree: two executions of a task agreed.
	ReplicaAgree
	// ReplicaDisagree: two executions disagreed (the arbiter then decides).
	ReplicaDisagree
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"pass", "fail", "arbitrated_pass", "arbitrated_fail", "arbiter_error", "replica_agree", "replica_disagree"}

// String returns the outcome's label value.
func (o Outcome) String() string { return outcomeNames[o] }

// Refusal is the class of reason a result was not accepted.
type Refusal int

// Refusal classes (label "reason" of tessera_tasks_refused_total).
const (
	// UnknownTask: a result for a task not leased to its sender (late,
	// expired and given to another, or never leased).
	UnknownTask Refusal = iota
	// WrongShape: the result's dimensions are not the task's.
	WrongShape
	// WrongResult: the result failed verification.
	WrongResult
	// Unverifiable: the hub could not verify it (arbiter failure); the task
	// was reassigned and the contributor not blamed.
	Unverifiable
	// ReplicaRefused: a second execution disagreed and the exact product
	// confirmed this result wrong, after it had been accepted as pending.
	ReplicaRefused
	numRefusals
)

var refusalNames = [numRefusals]string{"unknown_task", "wrong_shape", "wrong_result", "unverifiable", "replica_refused"}

// String returns the refusal's label value.
func (r Refusal) String() string { return refusalNames[r] }

// Metrics holds one hub's collectors. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	accepted     prometheus.Counter
	refusedHello *prometheus.CounterVec
	refused      [numRefusals]prometheus.Counter
	verified     [numOutcomes]prometheus.Counter
	leaseWait    prometheus.Histogram

	batchSeconds  prometheus.Histogram
	batchOps      prometheus.Histogram
	batchFailures prometheus.Counter

	stepSeconds     *prometheus.HistogramVec
	stepPart        *prometheus.CounterVec
	bitsPerByte     *prometheus.GaugeVec
	tokensPerSecond *prometheus.GaugeVec

	watched      *watcher
	inference    *inferenceWatcher
	apiResponses *prometheus.CounterVec
}

// New returns a Metrics with every family registered on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tessera_connections_accepted_total",
			Help: "Contributor connections whose signed handshake was accepted.",
		}),
		refusedHello: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_connections_refused_total",
			Help: "Contributor connections refused at the handshake, by protocol error code (bad_signature, replay, banned, ...).",
		}, []string{"code"}),
		leaseWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tessera_lease_wait_seconds",
			Help: "Time a task waits for a contributor: from when it is ready (handed over by its job, or put back after an expired lease or a refused result) until it is leased. " +
				"High values mean too few contributors for the work; training steps wait this long for their tiles.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 11), // 100 µs .. 105 s
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tessera_ledger_batch_seconds",
			Help:    "Time to commit one batch of credit operations to the SQLite ledger; contributors hear their verdict only after it.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 9), // 100 µs .. 6.6 s
		}),
		batchOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tessera_ledger_batch_ops",
			Help:    "Credit operations committed in one ledger batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 .. 16384
		}),
		batchFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tessera_ledger_commit_failures_total",
			Help: "Failed ledger commits; the writer retries them with backoff and never drops operations.",
		}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tessera_train_step_seconds",
			Help:    "Time of one training step (every tile computed by contributors and verified, plus the hub's element-wise work), by job.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12), // 10 ms .. 20 s
		}, []string{"job"}),
		stepPart: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_train_step_part_seconds_total",
			Help: "Time of training steps by job and part: hub (the hub computing: element-wise work, splitting and gathering tiles, the optimizer) " +
				"and contributors (the hub waiting for contributors' verified tiles).",
		}, []string{"job", "part"}),
		bitsPerByte: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tessera_train_validation_bits_per_byte",
			Help: "A language model's latest validation loss in bits per byte, by job.",
		}, []string{"job"}),
		tokensPerSecond: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tessera_train_tokens_per_second",
			Help: "Training throughput between the latest two evaluations, by job: tokens for a language model, examples otherwise.",
		}, []string{"job"}),
		watched:   newWatcher(),
		inference: newInferenceWatcher(),
		apiResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_api_responses_total",
			Help: "Responses of the inference API (OpenAI-compatible endpoints and classification), by route and HTTP status code.",
		}, []string{"route", "code"}),
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_tasks_refused_total",
		Help: "Results not accepted, by reason class: unknown_task (not leased to the sender, e.g. expired), wrong_shape, wrong_result (failed verification), " +
			"unverifiable (the hub could not verify it; reassigned without blame), replica_refused (a second execution and the exact product proved it wrong).",
	}, []string{"reason"})
	for r := range numRefusals {
		m.refused[r] = refused.WithLabelValues(r.String())
	}
	verified := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_verifications_total",
		Help: "Verification outcomes: pass and fail of the Freivalds check, arbitrated_pass and arbitrated_fail of borderline results settled by the exact product, " +
			"arbiter_error, and replica_agree and replica_disagree when a task's two executions are compared.",
	}, []string{"outcome"})
	for o := range numOutcomes {
		m.verified[o] = verified.WithLabelValues(o.String())
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.accepted, m.refusedHello, refused, verified, m.leaseWait,
		m.batchSeconds, m.batchOps, m.batchFailures, m.stepSeconds, m.stepPart, m.bitsPerByte, m.tokensPerSecond,
		m.watched, m.inference, m.apiResponses,
	)
	return m
}

// Registry returns the registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector's error is reported in the response, never a panic.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// HandshakeAccepted counts a contributor connection that passed the
// handshake.
func (m *Metrics) HandshakeAccepted() {
	if m != nil {
		m.accepted.Inc()
	}
}

// HandshakeRefused counts a connection refused at the handshake with the
// protocol error code's name.
func (m *Metrics) HandshakeRefused(code string) {
	if m != nil {
		m.refusedHello.WithLabelValues(code).Inc()
	}
}

// TaskRefused counts a result that was not accepted.
func (m *Metrics) TaskRefused(r Refusal) {
	if m != nil && r >= 0 && r < numRefusals {
		m.refused[r].Inc()
	}
}

// Verified counts a verification outcome.
func (m *Metrics) Verified(o Outcome) {
	if m != nil && o >= 0 && o < numOutcomes {
		m.verified[o].Inc()
	}
}

// LeaseWait records how long a task waited between being ready and being
// leased.
func (m *Metrics) LeaseWait(d time.Duration) {
	if m != nil {
		m.leaseWait.Observe(max(d, 0).Seconds())
	}
}

// LedgerBatch records a committed ledger batch of ops operations.
func (m *Metrics) LedgerBatch(took time.Duration, ops int) {
	if m != nil {
		m.batchSeconds.Observe(took.Seconds())
		m.batchOps.Observe(float64(ops))
	}
}

// LedgerCommitFailed counts a failed ledger commit (to be retried).
func (m *Metrics) LedgerCommitFailed() {
	if m != nil {
		m.batchFailures.Inc()
	}
}

// StepTimer returns the function that records job's training step times;
// it is nil-safe to call even on a nil *Metrics.
func (m *Metrics) StepTimer(job string) func(time.Duration) {
	if m == nil {
		return func(time.Duration) {}
	}
	h := m.stepSeconds.WithLabelValues(job)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

// JobSeries records a training job's figures besides its step times.
type JobSeries struct {
	hub, contributors prometheus.Counter
	bpb, tokensPerSec prometheus.Gauge
}

// Job returns the series of job; on a nil *Metrics they record nothing.
func (m *Metrics) Job(job string) JobSeries {
	if m == nil {
		return JobSeries{}
	}
	return JobSeries{hub: m.stepPart.WithLabelValues(job, "hub"), contributors: m.stepPart.WithLabelValues(job, "contributors"),
		bpb: m.bitsPerByte.WithLabelValues(job), tokensPerSec: m.tokensPerSecond.WithLabelValues(job)}
}

// Step records one step's split: the hub computing and the hub waiting
// for contributors.
func (s JobSeries) Step(hub, contributors time.Duration) {
	if s.hub != nil {
		s.hub.Add(hub.Seconds())
		s.contributors.Add(contributors.Seconds())
	}
}

// Evaluated records an evaluation's bits per byte (0 for models other
// than language models: not recorded) and the throughput before it.
func (s JobSeries) Evaluated(bitsPerByte, tokensPerSecond float64) {
	if s.bpb == nil {
		return
	}
	if bitsPerByte > 0 {
		s.bpb.Set(bitsPerByte)
	}
	s.tokensPerSec.Set(tokensPerSecond)
}

// ForgetJob drops a removed job's series.
func (m *Metrics) ForgetJob(job string) {
	if m != nil {
		m.stepSeconds.DeleteLabelValues(job)
		m.stepPart.DeletePartialMatch(prometheus.Labels{"job": job})
		m.bitsPerByte.DeleteLabelValues(job)
		m.tokensPerSecond.DeleteLabelValues(job)
	}
}
