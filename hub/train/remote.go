package train

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Remote is the Executor that sends tiles to contributors: it is a
// hub.Source whose tasks are the tiles of the running step, and a hub.Gate
// that enforces the job's exposure cap.
type Remote struct {
	name     string
	hub      *hub.Hub
	exposure *Exposure

	// urgent: the tiles are inference's, leased before training's.
	urgent bool
	// keptOnly: ordinary contributors receive weights only as blocks they
	// keep (SetKeptOnly).
	keptOnly bool
	// here computes the tiles no connected contributor may take
	// (hub.Fallback); training's only.
	here *tile.Local

	mu      sync.Mutex
	pending []*hub.Task
	wire    protocol.Encoding // of the operands (SendIn)

	joined joined // wide inference tasks (widen.go)
}

// remoteRef links a hub task back to its tiles (one, or several of an
// inference product: widen.go) and their batch.
type remoteRef struct {
	ctx     context.Context // the Start's: a task whose caller gave up is not handed out
	works   []*tile.Tile
	weights []int // the works' weight tiles, kept for Check and Grant (the scheduler's hot path)
	batch   *tile.Batch
}

// complete completes every tile of the task with err.
func (ref *remoteRef) complete(err error) {
	for _, w := range ref.works {
		w.Err = err
		ref.batch.Complete(err)
	}
}

// NewRemote returns an executor that queues tiles on h under the job's
// name, rationing weight tiles with exposure. Register it with
// h.AddSource.
func NewRemote(name string, h *hub.Hub, exposure *Exposure) *Remote {
	return &Remote{name: name, hub: h, exposure: exposure, here: tile.NewLocal(0)}
}

// NewInferenceRemote returns the executor of a model's inference tiles:
// queued on h under the job's name like its training tiles, rationed by
// the same exposure record (one cap across training and inference), but
// Urgent, so leased before training's. Operands travel as float32.
func NewInferenceRemote(name string, h *hub.Hub, exposure *Exposure) *Remote {
	return &Remote{name: name, hub: h, exposure: exposure, urgent: true}
}

// Urgent implements hub.Urgent.
func (r *Remote) Urgent() bool { return r.urgent }

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
	wire := r.wire
	r.mu.Unlock()
	groups := r.group(tiles)
	tasks := make([]*hub.Task, len(groups))
	for i, g := range groups {
		tasks[i] = r.task(ctx, g, b, wire)
		tasks[i].Ready = now
	}
	shareDigests(tasks)
	queued := tasks
	if r.here != nil {
		var here []*hub.Task
		queued, here = r.hub.Placeable(tasks)
		for _, t := range here {
			r.ComputeHere(t)
		}
	}
	r.mu.Lock()
	r.pending = append(r.pending, queued...)
	r.mu.Unlock()
	r.hub.Notify()
	return b
}

// ComputesHere implements hub.Fallback: a training Remote computes the
// tiles no connected contributor may take; inference's do not (a request
// has its own deadline, and contributors may join before it), but in a
// job whose weights reach contributors only as blocks (SetKeptOnly).
func (r *Remote) ComputesHere() bool { return r.here != nil }

// ComputeHere implements hub.Fallback: t's tiles are computed on the hub's
// CPU with the reference kernels, as the local trainer computes them.
func (r *Remote) ComputeHere(t *hub.Task) {
	ref := t.Ref.(*remoteRef)
	go func() {
		// Local completes every tile, with ctx's error if it ends first.
		_ = r.here.Start(ref.ctx, ref.works).Wait(context.Background())
		for _, w := range ref.works {
			ref.batch.Complete(w.Err)
		}
	}()
}

// Takers implements hub.Takers: with SetKeptOnly, a task that carries
// weights may go only to own workers and to the addresses that have
// received all of them (Exposure.holders).
func (r *Remote) Takers(t *hub.Task) (addrs []string, all bool) {
	ws := t.Ref.(*remoteRef).weights
	if !r.keptOnly || t.Kept != nil || !slices.ContainsFunc(ws, func(w int) bool { return w >= 0 }) {
		return nil, true
	}
	return r.exposure.holders(ws), false
}

// SetKeptOnly makes the job's weights reach ordinary contributors only as
// blocks they keep (Spec.OrdinaryKeepers): a tile task that would show an
// ordinary contributor weights it has not received is refused it, and
// computed by an own worker, by a contributor that has received them, or
// on the hub (an inference Remote too computes here from then on). New
// weights then go only to contributors whose records let them keep, and
// only as placed. Call it before the Remote is added to the hub.
func (r *Remote) SetKeptOnly() {
	r.keptOnly = true
	if r.here == nil {
		r.here = tile.NewLocal(0)
	}
}

// task is the hub task that computes works (one tile, or several joined:
// widen.go) for batch, its operands travelling in wire.
func (r *Remote) task(ctx context.Context, works []*tile.Tile, batch *tile.Batch, wire protocol.Encoding) *hub.Task {
	t := works[0]
	ref := &remoteRef{ctx: ctx, works: works, weights: make([]int, 0, len(works)), batch: batch}
	for _, w := range works {
		if w.Resident != nil && len(w.Resident.Reveals) > 0 {
			ref.weights = append(ref.weights, w.Resident.Reveals...)
			continue
		}
		ref.weights = append(ref.weights, w.Weight)
	}
	ht := &hub.Task{Op: t.Op, Shape: t.Shape, A: t.A, B: t.B, BDigest: t.BDigest, Wire: wire, Job: r.name, Source: r, Ref: ref}
	if len(works) > 1 {
		for _, w := range works[1:] {
			ht.Shape.N += w.Shape.N
		}
		ht.B, ht.BDigest = r.joinedB(works)
	}
	if res := t.Resident; res != nil {
		ht.Kept, ht.Update, ht.Verify = res.Kept, res.Update, res.Verify
	}
	return ht
}

// shareDigests hashes once each A that several of tasks share (a layer's
// input, multiplied by each of its column tiles) and gives the tasks its
// digest (hub.Task.ADigest), instead of the hub hashing it again for each
// task it plans. The slices are alive and unchanged while the tasks are
// (tile operands are never written after Start), so their address names
// them within one Start.
func shareDigests(tasks []*hub.Task) {
	type operand struct {
		p *float32
		n int
	}
	first := make(map[operand]*hub.Task, len(tasks))
	for _, t := range tasks {
		if len(t.A) == 0 {
			continue
		}
		k := operand{&t.A[0], len(t.A)}
		f, seen := first[k]
		if !seen {
			first[k] = t
			continue
		}
		if f.ADigest == (digest.D{}) {
			f.ADigest = digest.Of(t.A)
		}
		t.ADigest = f.ADigest
	}
}

// Strand fails the tasks of k not yet handed to the hub, with
// hub.ErrKeptLost, once the hub says nobody can run k's tasks (hub.Strand,
// which fails the ones it holds). It reports whether k is lost.
func (r *Remote) Strand(k *hub.Kept) bool {
	if !r.hub.Strand(r.name, k) {
		return false
	}
	r.mu.Lock()
	var failed []*hub.Task
	kept := r.pending[:0]
	for _, t := range r.pending {
		if t.Kept == k {
			failed = append(failed, t)
			continue
		}
		kept = append(kept, t)
	}
	clear(r.pending[len(kept):])
	r.pending = kept
	r.mu.Unlock()
	for _, t := range failed {
		r.Failed(t, hub.ErrKeptLost)
	}
	return true
}

// Keeps reports whether a contributor that could keep bytes of the job's
// weights is connected (hub.Keeps).
func (r *Remote) Keeps(bytes int64) bool { return r.hub.Keeps(r.name, bytes) }

// Holders implements Keeper: the ordinary contributors that may keep the
// job's weights now (hub.Holders), with what each has received of them.
func (r *Remote) Holders() []Holder {
	hs := r.hub.Holders(r.name)
	out := make([]Holder, len(hs))
	for i, h := range hs {
		seen, left := r.exposure.seen(h.Address)
		out[i] = Holder{Holder: h, Seen: seen, Left: left}
	}
	return out
}

// Reserve implements Keeper: it records durably that addr receives the
// weight tiles, before a block of them is placed there, so that nothing
// else the job hands out in the meantime can take addr past the cap.
func (r *Remote) Reserve(addr string, tiles []int) error { return r.exposure.grant(addr, tiles...) }

// Name implements hub.Source.
func (r *Remote) Name() string { return r.name }

// Next implements hub.Source.
func (r *Remote) Next(n int) []*hub.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*hub.Task
	for len(out) < n && len(r.pending) > 0 {
		t := r.pending[0]
		r.pending[0] = nil
		r.pending = r.pending[1:]
		if ref := t.Ref.(*remoteRef); ref.ctx.Err() != nil {
			// Its caller gave up (an inference request timed out, a job
			// stopped): nobody would read the result.
			ref.complete(ref.ctx.Err())
			continue
		}
		out = append(out, t)
	}
	return out
}

// Done implements hub.Source: the verified result becomes the tile's C.
func (r *Remote) Done(t *hub.Task, c []float32) {
	ref := t.Ref.(*remoteRef)
	splitRows(ref.works, c)
	ref.complete(nil)
}

// Failed implements hub.Failer: the tile fails, and with it its batch.
func (r *Remote) Failed(t *hub.Task, err error) {
	t.Ref.(*remoteRef).complete(err)
}

// Check implements hub.Gate.
func (r *Remote) Check(addr string, t *hub.Task) (allowed, reveals bool) {
	allowed, reveals = r.exposure.check(addr, t.Ref.(*remoteRef).weights...)
	if reveals && r.keptOnly && t.Kept == nil && !r.exposure.exempt[addr] {
		return false, true
	}
	return allowed, reveals
}

// Grant implements hub.Gate.
func (r *Remote) Grant(addr string, t *hub.Task) error {
	return r.exposure.grant(addr, t.Ref.(*remoteRef).weights...)
}
