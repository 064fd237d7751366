package hub_test

import (
	"context"
	"net"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// byteConn counts what goes through a connection in each direction.
type byteConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c byteConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c byteConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// gatedSource hands out tasks of one shape once open.
type gatedSource struct {
	shape kernel.Shape
	open  atomic.Bool
}

func (s *gatedSource) Name() string { return "gated" }

func (s *gatedSource) Next(n int) []*hub.Task {
	if !s.open.Load() {
		return nil
	}
	ts := make([]*hub.Task, n)
	for i := range ts {
		a, b := make([]float32, s.shape.ALen()), make([]float32, s.shape.BLen())
		for j := range a {
			a[j] = float32(j%7) - 3
		}
		for j := range b {
			b[j] = float32(j%5) - 2
		}
		ts[i] = &hub.Task{Op: kernel.MatMulNN, Shape: s.shape, A: a, B: b}
	}
	return ts
}

func (s *gatedSource) Done(*hub.Task, []float32) {}

// TestWireBytesPerJob checks the hub's wire totals for a job against the
// bytes a contributor's own socket carried: after the handshake, every
// byte either way belongs to the job's tasks, results and verdicts, so
// the two must agree exactly. Useful FLOP counts each delivered task once.
func TestWireBytesPerJob(t *testing.T) {
	th := startHub(t, func(c *hub.Config) {
		c.Verification.Replicate = false
		c.Matmul = hub.MatmulConfig{}
	})
	src := &gatedSource{shape: kernel.Shape{M: 17, K: 33, N: 9}}
	th.AddSource(src)
	var in, out atomic.Int64
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return byteConn{Conn: c, in: &in, out: &out}, err
	}}
	conn, _, err := d.Dial(th.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	key, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{tb: t, conn: conn, key: key}
	p.login(1)
	in0, out0 := in.Load(), out.Load()
	src.open.Store(true) // only now: nothing was leased before the baseline
	th.Notify()

	const tasks = 5
	var flops int64
	var next *protocol.Task
	recvTask := func() *protocol.Task {
		for {
			m, err := p.recv()
			if err != nil {
				t.Fatal(err)
			}
			if task, ok := m.(*protocol.Task); ok {
				return task
			}
		}
	}
	next = recvTask()
	for range tasks {
		task := next
		c := make([]float32, task.Shape.CLen())
		kernel.Reference(task.Op, task.Shape, task.A, task.B, c)
		p.send(&protocol.Result{TaskID: task.ID, Batch: uint32(task.Shape.Batch), Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
		flops += int64(task.Shape.FLOPs())
		next = nil
		for {
			m, err := p.recv()
			if err != nil {
				t.Fatal(err)
			}
			if tk, ok := m.(*protocol.Task); ok {
				next = tk
				continue
			}
			if v, ok := m.(*protocol.Verdict); ok && v.TaskID == task.ID {
				if !v.Accepted {
					t.Fatalf("honest result refused: %+v", v)
				}
				break
			}
		}
		if next == nil {
			next = recvTask()
		}
	}
	// The last task leased is read and not answered: every frame the hub
	// counted has now been read here.
	w := th.Wire("gated")
	if got, want := w.BytesDown, in.Load()-in0; got != want {
		t.Errorf("hub counted %d bytes down, the contributor's socket read %d", got, want)
	}
	if got, want := w.BytesUp, out.Load()-out0; got != want {
		t.Errorf("hub counted %d bytes up, the contributor's socket wrote %d", got, want)
	}
	if w.UsefulFLOPs != uint64(flops) {
		t.Errorf("useful FLOP %d, want %d (%d tasks, each once)", w.UsefulFLOPs, flops, tasks)
	}
	if want := float64(w.BytesDown+w.BytesUp) / (float64(flops) / 1e9); w.BytesPerGFLOP() != want || want <= 0 {
		t.Errorf("bytes per GFLOP %v, want %v", w.BytesPerGFLOP(), want)
	}
	if other := th.Wire("no-such-job"); other != (hub.WireStats{}) {
		t.Errorf("a job with no tasks has totals %+v", other)
	}
}

// TestOwnWorkersUnblinded checks that the operator's own workers get
// tasks as the source made them, while other contributors get them
// blinded: own workers are never replicated, so blinding (which keeps
// replica holders from copying each other) would only cost them.
func TestOwnWorkersUnblinded(t *testing.T) {
	own, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	th := startHub(t, func(c *hub.Config) {
		c.Verification.Replicate = false
		c.Matmul = hub.MatmulConfig{}
		c.Trusted = []string{own.Address().Hex()}
	})
	src := &gatedSource{shape: kernel.Shape{M: 17, K: 33, N: 9}}
	src.open.Store(true)
	th.AddSource(src)
	want := src.Next(1) // every task of the source has these operands
	for _, tc := range []struct {
		name    string
		key     *identity.Key
		blinded bool
	}{{"own", own, false}, {"other", nil, true}} {
		p := dialRaw(t, th)
		if tc.key != nil {
			p.key = tc.key
		}
		p.login(1)
		var task *protocol.Task
		for task == nil {
			m, err := p.recv()
			if err != nil {
				t.Fatal(err)
			}
			task, _ = m.(*protocol.Task)
		}
		same := slices.Equal(task.A, want[0].A) && slices.Equal(task.B, want[0].B)
		if same == tc.blinded {
			t.Errorf("%s worker: operands as the source made them: %v, want %v", tc.name, same, !tc.blinded)
		}
	}
}
