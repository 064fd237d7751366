package train

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/resident"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Resident weights (Spec.ResidentWeights): the operator's own workers
// keep the MLP's weights and apply SGD with momentum to them themselves,
// so that neither the weights go down nor their gradients up every step.
// The hub keeps the biases, and for each layer a hub.Kept (what to install
// at a contributor: the whole layer, since an own worker is exempt from
// the exposure cap) and a resident.Tracker, against which every product
// with the layer's weights is checked. A whole layer takes one task per
// product, and its input gradient comes back as one matrix rather than a
// partial sum per column tile. With Spec.OrdinaryKeepers, ordinary
// contributors keep blocks of a layer's tiles instead, each with its own
// Kept and tracker, placed within the exposure cap (placement.go).
//
// The mode is taken only while a worker that may keep weights is
// connected (Trainer.keeper): a step begins resident when the weights are
// already installed or such a worker is there, with room for all of them;
// otherwise it is an ordinary step over the column tiles, which any
// contributor may take within the cap (with ordinary keepers, only one
// that has received their weights; the hub computes the rest), with the
// same SGD applied by the hub. The arithmetic is the same either way, to float32 rounding (an
// ordinary step sums the input gradient per column tile), so the job does
// not care which steps were which. While a resident step waits, watch
// fails a layer that nobody can run any more (its keeper left before
// taking it, say), and the step goes back to the anchor.
//
// The hub's own copy of the weights (Trainer.params, and the momentum in
// the optimizer) is brought up to date only at the steps whose state the
// job needs: those it evaluates or checkpoints after, and the last. Their
// updates ask the contributors to hand the weights back (ResidentStepReturn),
// checked against the trackers before they are taken, and the trackers
// start over from them (the anchor). Between two such steps the hub's
// copy is that of the last anchor.
//
// If a contributor keeping a layer leaves, or fails a check, its state is
// lost: the step fails, and the trainer goes back to the anchor (weights,
// momentum, biases and step count) and forgets every layer. The steps since
// the anchor are done again, on the same batches: resident again if a
// keeper is connected, ordinary otherwise. With ordinary keepers only the
// lost blocks are rebuilt, by the hub, and the step goes on (recovery.go).
type residentMode struct {
	lr, mu         float32
	every, maxStep int // a step whose number is a multiple of every, or maxStep, hands back

	// blocks holds each layer's kept blocks, in column order; nil until
	// installed (and after a rollback). plan is what install places.
	blocks [][]*residentTile
	plan   [][]block
	// ordinary lets ordinary contributors keep blocks (Spec.OrdinaryKeepers).
	ordinary bool
	// kept mirrors blocks != nil for readers on other goroutines.
	kept atomic.Bool

	// Recovery per block (recovery.go), with ordinary keepers: the
	// history of the steps after step histFrom, the executor of the
	// held blocks' products, and the count of blocks recovered.
	recovery  bool
	history   []stepRecord
	histFrom  int
	local     tile.Executor
	round     bool // operands travel in bfloat16: the hub rounds them as they were sent (sent)
	recovered atomic.Int64

	// The anchor: the step, and the biases and their momentum then.
	anchorStep   int
	bias, biasV  []float32
	anchorUpdate int
}

// residentTile is a block of one layer's weights (the whole layer at an
// own worker), kept by a contributor.
type residentTile struct {
	kept *hub.Kept // Rows×Cols: the layer's in × the block's width
	blk  block
	// exposed lists the block's weight tiles, which a task with the kept
	// matrix reveals to its holder.
	exposed []int

	// For recovery (recovery.go): the block's weights and momentum at
	// step from (when installed, or at the last hand-back); and, once
	// the block is held by the hub, its weights and momentum at step at.
	baseW, baseV []float32
	from         int
	held         bool
	w, v         []float32
	at           int

	mu  sync.Mutex // the checks run on the sessions' goroutines
	trk *resident.Tracker
	rng *rand.Rand
	// back holds the weights and momentum handed back at this step, checked.
	back []float32
}

// strandEvery is how often a resident step that is still waiting checks
// that some contributor can run each layer's tasks.
const strandEvery = 250 * time.Millisecond

// watch checks, every strandEvery until stop is called, that some
// contributor can still run each block's tasks (Keeper.Strand): a keeper
// may leave, drain or choose other jobs before it takes a layer's first
// task, and nobody else may take them. A block nobody can run fails its
// tasks: the step goes back to the anchor, or with recovery the hub
// rebuilds the block (recovery.go).
func (r *residentMode) watch(k Keeper) (stop func()) {
	if k == nil {
		return func() {}
	}
	var tiles []*residentTile
	for _, bs := range r.blocks {
		tiles = append(tiles, bs...)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(strandEvery)
		defer tick.Stop()
		lost := make([]bool, len(tiles))
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for i, rt := range tiles {
				if !lost[i] {
					lost[i] = k.Strand(rt.kept)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// errRolledBack reports a step undone: a contributor keeping weights was
// lost, and the trainer went back to its last anchor.
var errRolledBack = errors.New("resident weights lost; training went back to the last anchor")

func newResidentMode(spec Spec) *residentMode {
	r := &residentMode{lr: float32(spec.Optimizer.LearningRate), mu: float32(spec.Optimizer.Momentum),
		every: gcd(spec.EvalEvery, spec.CheckpointEvery), maxStep: spec.MaxSteps, ordinary: spec.OrdinaryKeepers}
	r.recovery = spec.OrdinaryKeepers && historyBytes(spec.Model.Layers, spec.BatchSize, r.every) <= maxHistoryBytes
	if r.recovery {
		r.local, r.round = tile.NewLocal(0), spec.wire() == protocol.BFloat16
	}
	return r
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return max(a, 1)
}

// handsBack reports whether step (counted from 1) is one whose state the
// job needs.
func (r *residentMode) handsBack(step int) bool { return step%r.every == 0 || step == r.maxStep }

// install makes every layer resident from the trainer's current weights
// and momentum, which become the anchor, in the blocks of plan (one per
// layer for an own worker; placement.go for ordinary keepers). A block
// placed at an address is recorded as exposed to it first (Reserve).
func (r *residentMode) install(t *Trainer, seed uint64, plan [][]block) error {
	vel := t.opt.(*sgd).vel
	blocks := make([][]*residentTile, len(t.m.layers))
	for l := range t.m.layers {
		ly := &t.m.layers[l]
		for _, b := range plan[l] {
			if b.addr != "" {
				if err := t.keeper.Reserve(b.addr, b.indices()); err != nil {
					return err
				}
			}
			rt := &residentTile{}
			if err := r.installBlock(rt, ly, l, b, seed, t.step, gatherBlock(t.params, ly, b), gatherBlock(vel, ly, b)); err != nil {
				return err
			}
			blocks[l] = append(blocks[l], rt)
		}
	}
	r.blocks, r.plan = blocks, nil
	r.anchor(t)
	r.kept.Store(true)
	return nil
}

// installBlock makes rt block b of layer l, to be kept from weights w and
// momentum v, the state at step: a new Kept placed at b's address, a
// tracker that starts from them, and the base recovery rebuilds from.
func (r *residentMode) installBlock(rt *residentTile, ly *layer, l int, b block, seed uint64, step int, w, v []float32) error {
	rng := rand.New(rand.NewPCG(seed^uint64(b.tiles[0].index)<<40, uint64(l)<<32|uint64(step)))
	trk, err := resident.New(w, v, ly.in, b.width(), r.lr, r.mu, rng)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.kept = &hub.Kept{Rows: ly.in, Cols: b.width(), W: w, V: v, For: b.addr}
	rt.blk, rt.exposed, rt.trk, rt.rng = b, b.indices(), trk, rng
	rt.baseW, rt.baseV, rt.from = w, v, step
	rt.held, rt.w, rt.v = false, nil, nil
	return nil
}

// gatherBlock returns the weights in p of block b of layer ly (stored as
// column tiles) as one in×width row-major matrix, its tiles' columns one
// after the other.
func gatherBlock(p []float32, ly *layer, b block) []float32 {
	width := b.width()
	out := make([]float32, ly.in*width)
	c := 0
	for _, wt := range b.tiles {
		src := tileOf(p, ly, wt)
		for row := range ly.in {
			at := row*width + c
			copy(out[at:at+wt.width], src[row*wt.width:(row+1)*wt.width])
		}
		c += wt.width
	}
	return out
}

// scatterBlock is gatherBlock's inverse: it writes the in×width matrix w
// into the column tiles of layer ly in p that block b is made of.
func scatterBlock(p []float32, ly *layer, b block, w []float32) {
	width := b.width()
	c := 0
	for _, wt := range b.tiles {
		dst := tileOf(p, ly, wt)
		for row := range ly.in {
			at := row*width + c
			copy(dst[row*wt.width:(row+1)*wt.width], w[at:at+wt.width])
		}
		c += wt.width
	}
}

// scatterLayer writes the in×out matrix w into layer ly's column tiles.
func scatterLayer(p []float32, ly *layer, w []float32) {
	scatterBlock(p, ly, block{tiles: ly.tiles}, w)
}

// anchor records the trainer's biases, their momentum and step.
func (r *residentMode) anchor(t *Trainer) {
	first := t.m.layers[0].bias
	vel := t.opt.(*sgd).vel
	r.anchorStep, r.anchorUpdate = t.step, t.opt.(*sgd).t
	r.bias, r.biasV = slices.Clone(t.params[first:]), slices.Clone(vel[first:])
	r.history, r.histFrom = nil, t.step
}

// rollback returns the trainer to the anchor and forgets every tile.
func (r *residentMode) rollback(t *Trainer) {
	first := t.m.layers[0].bias
	params := slices.Clone(t.params)
	copy(params[first:], r.bias)
	t.params = params
	s := t.opt.(*sgd)
	copy(s.vel[first:], r.biasV)
	s.t = r.anchorUpdate
	t.step = r.anchorStep
	r.history = nil
	r.forget()
}

// forget releases every block, to be installed again before the next
// step.
func (r *residentMode) forget() {
	for _, bs := range r.blocks {
		for _, rt := range bs {
			rt.kept.Release()
		}
	}
	r.blocks = nil
	r.kept.Store(false)
}

// parts returns layer l's kept blocks as the column blocks its products
// are cut into.
func (r *residentMode) parts(l int) []weightTile {
	out := make([]weightTile, len(r.blocks[l]))
	for j, rt := range r.blocks[l] {
		out[j] = weightTile{index: -1, width: rt.blk.width(), pieces: rt.blk.tiles}
	}
	return out
}

// product is a forward or input-gradient product with block j of layer
// l: op is kernel.MatMulNN (X·W, X M×K) or kernel.MatMulNT (dY·Wᵀ, dY
// M×width, the block's columns of the output gradient).
func (r *residentMode) product(l, j int, op kernel.Op) *tile.Resident {
	rt := r.blocks[l][j]
	return &tile.Resident{Kept: rt.kept, Reveals: rt.exposed, Verify: func(a, _, c []float32) error {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if op == kernel.MatMulNN {
			return rt.trk.CheckForward(a, c, len(a)/rt.kept.Rows)
		}
		return rt.trk.CheckInputGrad(a, c, len(a)/rt.kept.Cols)
	}}
}

// update is block j of layer l's update from X (M×K) and dY (M×width),
// the weights handed back when back is set.
func (r *residentMode) update(l, j int, back bool) *tile.Resident {
	rt := r.blocks[l][j]
	mode := protocol.ResidentStep
	if back {
		mode = protocol.ResidentStepReturn
	}
	return &tile.Resident{Kept: rt.kept, Reveals: rt.exposed, Update: protocol.Resident{Mode: mode, LR: r.lr, Momentum: r.mu},
		Verify: func(x, dy, c []float32) error {
			rt.mu.Lock()
			defer rt.mu.Unlock()
			k := rt.kept.Rows
			if err := rt.trk.Update(x, dy, len(x)/k); err != nil {
				return err
			}
			if !back {
				return rt.trk.Claim(c[:k], c[k:])
			}
			size := k * rt.kept.Cols
			w, v := c[:size], c[size:]
			if err := rt.trk.CheckState(w, v); err != nil {
				return err
			}
			if err := rt.trk.Anchor(w, v, rt.rng); err != nil {
				return err
			}
			rt.back = c
			return nil
		}}
}

// takeBack copies the weights and momentum handed back at this step into
// the trainer's (the parameters out of place: an inference may be reading
// them).
func (r *residentMode) takeBack(t *Trainer) error {
	vel := t.opt.(*sgd).vel
	params := slices.Clone(t.params)
	for l := range t.m.layers {
		ly := &t.m.layers[l]
		for _, rt := range r.blocks[l] {
			if rt.held { // rebuilt by the hub, this step included
				if err := r.catchUp(rt, ly, l, t.step+1); err != nil {
					return err
				}
				scatterBlock(params, ly, rt.blk, rt.w)
				scatterBlock(vel, ly, rt.blk, rt.v)
				continue
			}
			rt.mu.Lock()
			back := rt.back
			rt.back = nil
			rt.mu.Unlock()
			size := ly.in * rt.blk.width()
			if len(back) != 2*size {
				return fmt.Errorf("layer %d's weight tiles %v were not handed back", l, rt.exposed)
			}
			scatterBlock(params, ly, rt.blk, back[:size])
			scatterBlock(vel, ly, rt.blk, back[size:])
			// The block's base from now on (recovery.go): the step after
			// this one starts from what was handed back.
			rt.baseW, rt.baseV, rt.from = back[:size], back[size:], t.step+1
		}
	}
	t.params = params
	return nil
}

// stepBiases applies SGD with momentum to the biases alone, out of place
// (the weights are the contributors'), and returns the new parameters.
func (r *residentMode) stepBiases(t *Trainer, grad []float32) []float32 {
	next := slices.Clone(t.params)
	first := t.m.layers[0].bias
	s := t.opt.(*sgd)
	s.t++
	kernel.MomentumStep(next[first:], s.vel[first:], grad[first:], r.lr, r.mu)
	return next
}
