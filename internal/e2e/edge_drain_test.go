package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub"
)

// jsonLog collects the JSON log records a process writes to stderr.
type jsonLog struct {
	p *proc
}

// records returns every complete JSON record with msg so far.
func (l jsonLog) records(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.p.output(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitRecord polls until a record with msg appears and returns the first.
func (l jsonLog) waitRecord(tb testing.TB, msg string, timeout time.Duration) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if rs := l.records(msg); len(rs) > 0 {
			return rs[0]
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %q log record within %v", msg, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEdgeStatus polls the hub's status until cond holds.
func waitEdgeStatus(tb testing.TB, base, what string, timeout time.Duration, cond func(hub.Status) bool) hub.Status {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := edgeStatus(tb, base)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; status %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for p to exit and returns its exit error.
func (p *proc) waitExit(tb testing.TB, timeout time.Duration) error {
	tb.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		return err
	case <-time.After(timeout):
		tb.Fatalf("%s did not exit within %v", filepath.Base(p.cmd.Path), timeout)
		return nil
	}
}

// TestEdgeGracefulShutdown sends SIGINT to a real tessera-edge while it
// holds leases: it must tell the hub it takes no more, finish and return
// every task it holds, close cleanly and exit 0, so that the hub counts
// every lease completed and none expired or requeued. A second SIGINT
// during a drain stops at once: the task held is requeued, not finished.
func TestEdgeGracefulShutdown(t *testing.T) {
	bins := edgeBinaries(t)

	t.Run("FinishesLeases", func(t *testing.T) {
		// Tasks of ~0.27 GFLOP take a noticeable time on the CPU backend,
		// so the edge always holds some when the signal comes.
		_, base := startHubBinary(t, bins, "--matmul-shape", "512x512x512", "--default-job=false")
		ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
		edge := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", filepath.Join(t.TempDir(), "edge.key"),
			"--backend", "cpu", "--slots", "4", "--progress", "300ms", "--log-json"}, nil)
		logs := jsonLog{edge}

		waitEdgeStatus(t, base, "tasks completed and leases held", 60*time.Second, func(st hub.Status) bool {
			return len(st.Contributors) == 1 && st.Contributors[0].TasksCompleted >= 3 && st.TasksInFlight >= 2
		})
		progress := logs.waitRecord(t, "progress", 10*time.Second)
		for _, field := range []string{"tasks_per_s", "tasks_per_s_avg", "gflops", "done", "accepted", "refused", "held", "accepted_gflop"} {
			if _, ok := progress[field].(float64); !ok {
				t.Errorf("progress record lacks the number %q: %v", field, progress)
			}
		}

		edge.cmd.Process.Signal(syscall.SIGINT)
		if err := edge.waitExit(t, 30*time.Second); err != nil {
			t.Fatalf("edge exit after SIGINT: %v", err)
		}
		drain := logs.waitRecord(t, "draining: the hub leases nothing more; finishing the tasks held", time.Second)
		if held, _ := drain["held"].(float64); held < 1 {
			t.Errorf("the drain started with %v tasks held; the test wants it to have leases in hand", drain["held"])
		}
		stopped := logs.waitRecord(t, "stopped", time.Second)
		if _, bad := stopped["err"]; bad {
			t.Errorf("edge stopped with an error: %v", stopped)
		}
		if rs := logs.records("stopped before finishing every task; the hub will lease them to someone else"); len(rs) > 0 {
			t.Errorf("edge abandoned tasks: %v", rs)
		}

		st := waitEdgeStatus(t, base, "the edge to leave", 10*time.Second, func(st hub.Status) bool { return st.ContributorsConnected == 0 })
		if st.TasksLeased != st.TasksCompleted || st.TasksExpired != 0 || st.TasksRequeued != 0 || st.TasksInFlight != 0 || st.TasksRejected != 0 {
			t.Errorf("hub after the drain: leased %d, completed %d, expired %d, requeued %d, in flight %d, rejected %d; want every lease completed",
				st.TasksLeased, st.TasksCompleted, st.TasksExpired, st.TasksRequeued, st.TasksInFlight, st.TasksRejected)
		}
		if done, _ := stopped["tasks"].(float64); uint64(done) != st.TasksCompleted {
			t.Errorf("edge reports %v tasks done, the hub %d completed", stopped["tasks"], st.TasksCompleted)
		}
	})

	t.Run("SecondSignalStopsNow", func(t *testing.T) {
		// One task of 17 GFLOP keeps the CPU backend busy for seconds.
		_, base := startHubBinary(t, bins, "--matmul-shape", "2048x2048x2048", "--default-job=false")
		ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
		edge := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", filepath.Join(t.TempDir(), "edge.key"),
			"--backend", "cpu", "--slots", "1", "--grace", "5m", "--progress", "100ms", "--log-json"}, nil)
		logs := jsonLog{edge}
		deadline := time.Now().Add(60 * time.Second)
		for !slices.ContainsFunc(logs.records("progress"), func(r map[string]any) bool { return r["held"] == 1.0 }) {
			if time.Now().After(deadline) {
				t.Fatal("the edge never reported a task held")
			}
			time.Sleep(20 * time.Millisecond)
		}
		edge.cmd.Process.Signal(syscall.SIGINT)
		logs.waitRecord(t, "stopping: finishing the tasks held, taking no new ones; signal again to stop now", 10*time.Second)
		edge.cmd.Process.Signal(syscall.SIGINT)
		if err := edge.waitExit(t, 30*time.Second); err != nil {
			t.Fatalf("edge exit after the second SIGINT: %v", err)
		}
		logs.waitRecord(t, "second signal: stopping now", time.Second)
		st := waitEdgeStatus(t, base, "the task to be requeued", 10*time.Second, func(st hub.Status) bool {
			return st.ContributorsConnected == 0 && st.TasksInFlight == 0
		})
		if st.TasksCompleted != 0 || st.TasksRequeued == 0 {
			t.Errorf("hub after a stop at once: completed %d, requeued %d; want the held task requeued, not completed", st.TasksCompleted, st.TasksRequeued)
		}
	})
}
