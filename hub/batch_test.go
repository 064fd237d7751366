package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// batchShape is an attention-like batched task with odd dimensions.
var batchShape = kernel.Shape{Batch: 4, M: 7, K: 5, N: 3}

// TestBatchedTasks leases batched tasks to a raw peer: the task carries
// the batch, a result of the right size is accepted and credited the
// whole batch's arithmetic, and results whose batch disagrees with the
// task's are refused as wrong shapes.
func TestBatchedTasks(t *testing.T) {
	th := startHub(t, func(c *hub.Config) {
		c.Matmul.Shape = batchShape
		c.Verification.Replicate = false
	})
	p := dialRaw(t, th)
	p.login(1)
	// Tasks and verdicts arrive in any order: tasks read while waiting
	// for a verdict are kept for next.
	var queued []*protocol.Task
	read := func(stop func(protocol.Message) bool) {
		t.Helper()
		for {
			m, err := p.recv()
			if err != nil {
				t.Fatal(err)
			}
			if task, ok := m.(*protocol.Task); ok {
				queued = append(queued, task)
			}
			if stop(m) {
				return
			}
		}
	}
	next := func() *protocol.Task {
		t.Helper()
		if len(queued) == 0 {
			read(func(m protocol.Message) bool { _, ok := m.(*protocol.Task); return ok })
		}
		task := queued[0]
		queued = queued[1:]
		return task
	}
	verdict := func(id uint64) (v *protocol.Verdict) {
		t.Helper()
		read(func(m protocol.Message) bool {
			v, _ = m.(*protocol.Verdict)
			return v != nil && v.TaskID == id
		})
		return v
	}
	answer := func(task *protocol.Task, batch uint32, c []float32) *protocol.Verdict {
		p.send(&protocol.Result{TaskID: task.ID, Batch: batch, Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
		return verdict(task.ID)
	}

	task := next()
	if task.Shape != batchShape || len(task.A) != batchShape.ALen() || len(task.B) != batchShape.BLen() {
		t.Fatalf("leased %v with %d and %d elements, want %v", task.Shape, len(task.A), len(task.B), batchShape)
	}
	c := make([]float32, task.Shape.CLen())
	kernel.Reference(task.Op, task.Shape, task.A, task.B, c)
	if v := answer(task, uint32(task.Shape.Batch), c); !v.Accepted {
		t.Fatalf("honest batched result refused: %+v", v)
	}
	r, _ := row(getStatus(t, th), p.key.Address().Hex())
	if want := batchShape.FLOPs() / 1e9; r.GFLOP != want {
		t.Errorf("credited %v GFLOP, want %v for the whole batch", r.GFLOP, want)
	}

	// One product's worth of C, declared as one matrix: a wrong shape.
	task = next()
	one := task.Shape.Single()
	c = make([]float32, one.CLen())
	kernel.Reference(task.Op, one, task.A[:one.ALen()], task.B[:one.BLen()], c)
	if v := answer(task, 0, c); v.Accepted || v.Code != protocol.CodeWrongResult || !strings.Contains(v.Message, "the task's output is 4×7x3") {
		t.Errorf("single-product answer to a batched task: %+v", v)
	}
}

// TestBatchedHonestClients runs batched tasks through CPU clients with
// replication and blinding on: every result is accepted, replicas agree.
func TestBatchedHonestClients(t *testing.T) {
	th := startHub(t, func(c *hub.Config) { c.Matmul.Shape = batchShape })
	a := startClient(t, th, device.CPU{}, 2)
	b := startClient(t, th, device.CPU{}, 2)
	waitFor(t, "replicated batched results", 10*time.Second, func() bool {
		return a.Stats().Accepted >= 10 && b.Stats().Accepted >= 10 && getStatus(t, th).TasksReplicated >= 5
	})
	if st := getStatus(t, th); st.TasksRejected != 0 || st.Arbitrations != 0 {
		t.Errorf("honest batched results: %d rejected, %d arbitrations", st.TasksRejected, st.Arbitrations)
	}
}
