package metrics_test

import (
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/metrics/metricstest"
)

// scrape serves m over HTTP, as Prometheus would read it, and parses the
// text exposition.
func scrape(tb testing.TB, m *metrics.Metrics) map[string]*dto.MetricFamily {
	tb.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	return metricstest.Scrape(tb, srv.URL)
}

var sample = metricstest.Value

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.HandshakeAccepted()
	m.HandshakeRefused("bad_signature")
	m.TaskRefused(metrics.WrongResult)
	m.Verified(metrics.Pass)
	m.LeaseWait(time.Second)
	m.LedgerBatch(time.Millisecond, 3)
	m.LedgerCommitFailed()
	m.StepTimer("job")(time.Second)
	m.ForgetJob("job")
	m.WatchTasks(func() metrics.Tasks { return metrics.Tasks{} })
	m.WatchCommits(func() metrics.Commits { return metrics.Commits{} })
}

func TestMetricsExposition(t *testing.T) {
	m := metrics.New()
	other := metrics.New() // a second hub in the same process
	fams := scrape(t, m)
	for name, typ := range map[string]dto.MetricType{
		"tessera_connections_accepted_total":   dto.MetricType_COUNTER,
		"tessera_tasks_refused_total":          dto.MetricType_COUNTER,
		"tessera_verifications_total":          dto.MetricType_COUNTER,
		"tessera_lease_wait_seconds":           dto.MetricType_HISTOGRAM,
		"tessera_ledger_batch_seconds":         dto.MetricType_HISTOGRAM,
		"tessera_ledger_batch_ops":             dto.MetricType_HISTOGRAM,
		"tessera_ledger_commit_failures_total": dto.MetricType_COUNTER,
		"go_goroutines":                        dto.MetricType_GAUGE,
		"process_cpu_seconds_total":            dto.MetricType_COUNTER,
	} {
		if f, ok := fams[name]; !ok || f.GetType() != typ {
			t.Errorf("%s: present %v, type %v, want %v", name, ok, f.GetType(), typ)
		}
	}
	if _, ok := fams["tessera_tasks_leased_total"]; ok {
		t.Error("task totals reported before anything is watched")
	}
	if v, _ := sample(fams, "tessera_verifications_total", "outcome", "replica_disagree"); v != 0 {
		t.Errorf("a fresh registry counts %v disagreements", v)
	}

	m.HandshakeAccepted()
	m.HandshakeRefused("replay")
	m.TaskRefused(metrics.UnknownTask)
	m.TaskRefused(metrics.Refusal(99)) // out of range: ignored, not a panic
	m.Verified(metrics.Pass)
	m.Verified(metrics.Pass)
	m.Verified(metrics.ReplicaAgree)
	m.LeaseWait(3 * time.Millisecond)
	m.LedgerBatch(2*time.Millisecond, 40)
	m.StepTimer("job-a")(120 * time.Millisecond)
	m.StepTimer("job-b")(80 * time.Millisecond)
	m.ForgetJob("job-b")
	at := time.Unix(1_700_000_000, 0)
	m.WatchTasks(func() metrics.Tasks {
		return metrics.Tasks{Connections: 3, Leased: 10, Completed: 7, Expired: 1, Requeued: 2, ComputedHere: 6, Queued: 4, InFlight: 3,
			Wire: map[string]metrics.Wire{"job-a": {Down: 3000, Up: 1000, UsefulFLOPs: 2e9}, "job-c": {Down: 10}}}
	})
	m.WatchCommits(func() metrics.Commits {
		return metrics.Commits{
			Models:   map[string]metrics.Committed{"matmul": {Epoch: 5, At: at}, "job-x": {Epoch: 2}},
			Failures: 1, Pending: 1,
		}
	})

	fams = scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tessera_connections_accepted_total", nil, 1},
		{"tessera_connections_refused_total", []string{"code", "replay"}, 1},
		{"tessera_tasks_refused_total", []string{"reason", "unknown_task"}, 1},
		{"tessera_tasks_refused_total", []string{"reason", "wrong_result"}, 0},
		{"tessera_verifications_total", []string{"outcome", "pass"}, 2},
		{"tessera_verifications_total", []string{"outcome", "replica_agree"}, 1},
		{"tessera_lease_wait_seconds", nil, 1},
		{"tessera_ledger_batch_seconds", nil, 1},
		{"tessera_ledger_batch_ops", nil, 1},
		{"tessera_train_step_seconds", []string{"job", "job-a"}, 1},
		{"tessera_connections", nil, 3},
		{"tessera_tasks_leased_total", nil, 10},
		{"tessera_tasks_completed_total", nil, 7},
		{"tessera_tasks_expired_total", nil, 1},
		{"tessera_tasks_requeued_total", nil, 2},
		{"tessera_tasks_computed_by_hub_total", nil, 6},
		{"tessera_tasks_queued", nil, 4},
		{"tessera_tasks_in_flight", nil, 3},
		{"tessera_chain_last_committed_epoch", []string{"model", "matmul"}, 5},
		{"tessera_chain_last_committed_epoch", []string{"model", "job-x"}, 2},
		{"tessera_chain_last_commit_timestamp_seconds", []string{"model", "matmul"}, 1_700_000_000},
		{"tessera_chain_commit_failures_total", nil, 1},
		{"tessera_chain_epochs_pending", nil, 1},
		{"tessera_wire_bytes_total", []string{"job", "job-a", "direction", "down"}, 3000},
		{"tessera_wire_bytes_total", []string{"job", "job-a", "direction", "up"}, 1000},
		{"tessera_useful_flops_total", []string{"job", "job-a"}, 2e9},
		{"tessera_wire_bytes_per_gflop", []string{"job", "job-a"}, 2000},
		{"tessera_wire_bytes_total", []string{"job", "job-c", "direction", "down"}, 10},
	} {
		if got, ok := sample(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := sample(fams, "tessera_wire_bytes_per_gflop", "job", "job-c"); ok {
		t.Error("bytes per GFLOP is reported for a job with no useful FLOP")
	}
	if _, ok := sample(fams, "tessera_train_step_seconds", "job", "job-b"); ok {
		t.Error("a forgotten job's step times are still reported")
	}
	if _, ok := sample(fams, "tessera_chain_last_commit_timestamp_seconds", "model", "job-x"); ok {
		t.Error("a commit time is reported although it is unknown")
	}
	if h := fams["tessera_ledger_batch_ops"].GetMetric()[0].GetHistogram(); h.GetSampleSum() != 40 {
		t.Errorf("batch size sum %v, want 40", h.GetSampleSum())
	}
	if v, _ := sample(scrape(t, other), "tessera_verifications_total", "outcome", "pass"); v != 0 {
		t.Errorf("a second instance sees the first one's counts: %v", v)
	}
}

// BenchmarkHotPath measures what the metrics add to each task on the hub's
// hot path: one lease-wait observation and one verification count, from
// many goroutines at once as sessions do. Compare with the ~20 µs a task
// takes end to end (BenchmarkRoundTrip in hub/).
func BenchmarkHotPath(b *testing.B) {
	m := metrics.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.LeaseWait(150 * time.Microsecond)
			m.Verified(metrics.Pass)
		}
	})
}
