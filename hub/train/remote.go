package train

import (
	"context"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Remote is the Executor that sends tiles to contributors: it is a
// hub.Source whose tasks are the tiles of the running step, and a hub.Gate
// that enforces the job's exposure cap.
type Remote struct {
	name     string
	hub      *hub.Hub
	exposure *Exposure

	mu      sync.Mutex
	pending []*hub.Task
	wire    protocol.Encoding // of the operands (SendIn)
}

// remoteRef links a hub task back to its tile and batch.
type remoteRef struct {
	work  *tile.Tile
	batch *tile.Batch
}

// NewRemote returns an executor that queues tiles on h under the job's
// name, rationing weight tiles with exposure. Register it with
// h.AddSource.
func NewRemote(name string, h *hub.Hub, exposure *Exposure) *Remote {
	return &Remote{name: name, hub: h, exposure: exposure}
}

// SendIn makes the tiles' operands travel in enc from now on. With
// bfloat16 the tiles must come already rounded to it (newJob wraps the
// job's executor in roundOperands): the hub checks results against the
// operands as they are.
func (r *Remote) SendIn(enc protocol.Encoding) {
	r.mu.Lock()
	r.wire = enc
	r.mu.Unlock()
}

// Start implements tile.Executor.
func (r *Remote) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	b := tile.NewBatch(len(tiles))
	now := time.Now()
	r.mu.Lock()
	for _, t := range tiles {
		r.pending = append(r.pending, &hub.Task{
			Op: t.Op, Shape: t.Shape, A: t.A, B: t.B, Wire: r.wire, Job: r.name, Source: r,
			Ref: &remoteRef{work: t, batch: b}, Ready: now,
		})
	}
	r.mu.Unlock()
	r.hub.Notify()
	return b
}

// Name implements hub.Source.
func (r *Remote) Name() string { return r.name }

// Next implements hub.Source.
func (r *Remote) Next(n int) []*hub.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = min(n, len(r.pending))
	out := make([]*hub.Task, n)
	copy(out, r.pending)
	clear(r.pending[:n])
	r.pending = r.pending[n:]
	return out
}

// Done implements hub.Source: the verified result becomes the tile's C.
func (r *Remote) Done(t *hub.Task, c []float32) {
	ref := t.Ref.(*remoteRef)
	copy(ref.work.C, c)
	ref.batch.Complete(nil)
}

// Check implements hub.Gate.
func (r *Remote) Check(addr string, t *hub.Task) (allowed, reveals bool) {
	return r.exposure.check(addr, t.Ref.(*remoteRef).work.Weight)
}

// Grant implements hub.Gate.
func (r *Remote) Grant(addr string, t *hub.Task) error {
	return r.exposure.grant(addr, t.Ref.(*remoteRef).work.Weight)
}
