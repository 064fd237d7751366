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
// partial sum per column tile.
//
// The mode is taken only while a worker that may keep weights is
// connected (Trainer.keeper): a step begins resident when the weights are
// already installed or such a worker is there, with room for all of them;
// otherwise it is an ordinary step over the column tiles, which any
// contributor may take within the cap, with the same SGD applied by the
// hub. The arithmetic is the same either way, to float32 rounding (an
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
// keeper is connected, ordinary otherwise.
type residentMode struct {
	lr, mu         float32
	every, maxStep int // a step whose number is a multiple of every, or maxStep, hands back

	tiles []*residentTile // per layer; nil until installed (and after a rollback)
	// kept mirrors tiles != nil for readers on other goroutines.
	kept atomic.Bool

	// The anchor: the step, and the biases and their momentum then.
	anchorStep   int
	bias, biasV  []float32
	anchorUpdate int
}

// residentTile is one layer's weights, kept by a contributor.
type residentTile struct {
	kept *hub.Kept // Rows×Cols: the layer's in×out
	// exposed lists the layer's weight tiles, which a task with the kept
	// matrix reveals to its holder.
	exposed []int

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
// contributor can still run each layer's tasks (Keeper.Strand): a keeper
// may leave, drain or choose other jobs before it takes a layer's first
// task, and nobody else may take them. A layer nobody can run fails its
// tasks, and the step with them, which then goes back to the anchor.
func (r *residentMode) watch(k Keeper) (stop func()) {
	if k == nil {
		return func() {}
	}
	tiles := r.tiles
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
	return &residentMode{lr: float32(spec.Optimizer.LearningRate), mu: float32(spec.Optimizer.Momentum),
		every: gcd(spec.EvalEvery, spec.CheckpointEvery), maxStep: spec.MaxSteps}
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
// and momentum, which become the anchor.
func (r *residentMode) install(t *Trainer, seed uint64) error {
	vel := t.opt.(*sgd).vel
	r.tiles = make([]*residentTile, len(t.m.layers))
	for l := range t.m.layers {
		ly := &t.m.layers[l]
		w, v := gatherLayer(t.params, ly), gatherLayer(vel, ly)
		rng := rand.New(rand.NewPCG(seed, uint64(l)<<32|uint64(t.step)))
		trk, err := resident.New(w, v, ly.in, ly.out, r.lr, r.mu, rng)
		if err != nil {
			return err
		}
		exposed := make([]int, len(ly.tiles))
		for j, wt := range ly.tiles {
			exposed[j] = wt.index
		}
		r.tiles[l] = &residentTile{kept: &hub.Kept{Rows: ly.in, Cols: ly.out, W: w, V: v}, exposed: exposed, trk: trk, rng: rng}
	}
	r.anchor(t)
	r.kept.Store(true)
	return nil
}

// gatherLayer returns layer ly's weights in p (stored as column tiles) as
// one in×out row-major matrix.
func gatherLayer(p []float32, ly *layer) []float32 {
	out := make([]float32, ly.in*ly.out)
	for _, wt := range ly.tiles {
		src := tileOf(p, ly, wt)
		for row := range ly.in {
			copy(out[row*ly.out+wt.col0:row*ly.out+wt.col0+wt.width], src[row*wt.width:(row+1)*wt.width])
		}
	}
	return out
}

// scatterLayer is gatherLayer's inverse: it writes the in×out matrix w
// into layer ly's column tiles in p.
func scatterLayer(p []float32, ly *layer, w []float32) {
	for _, wt := range ly.tiles {
		dst := tileOf(p, ly, wt)
		for row := range ly.in {
			copy(dst[row*wt.width:(row+1)*wt.width], w[row*ly.out+wt.col0:row*ly.out+wt.col0+wt.width])
		}
	}
}

// anchor records the trainer's biases, their momentum and step.
func (r *residentMode) anchor(t *Trainer) {
	first := t.m.layers[0].bias
	vel := t.opt.(*sgd).vel
	r.anchorStep, r.anchorUpdate = t.step, t.opt.(*sgd).t
	r.bias, r.biasV = slices.Clone(t.params[first:]), slices.Clone(vel[first:])
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
	r.forget()
}

// forget releases every tile, to be installed again before the next step.
func (r *residentMode) forget() {
	for _, rt := range r.tiles {
		rt.kept.Release()
	}
	r.tiles = nil
	r.kept.Store(false)
}

// product is a forward or input-gradient product with layer l's weights:
// op is kernel.MatMulNN (X·W, X M×K) or kernel.MatMulNT (dY·Wᵀ, dY M×N).
func (r *residentMode) product(l int, op kernel.Op) *tile.Resident {
	rt := r.tiles[l]
	return &tile.Resident{Kept: rt.kept, Reveals: rt.exposed, Verify: func(a, _, c []float32) error {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if op == kernel.MatMulNN {
			return rt.trk.CheckForward(a, c, len(a)/rt.kept.Rows)
		}
		return rt.trk.CheckInputGrad(a, c, len(a)/rt.kept.Cols)
	}}
}

// update is layer l's update from X (M×K) and dY (M×N), the weights
// handed back when back is set.
func (r *residentMode) update(l int, back bool) *tile.Resident {
	rt := r.tiles[l]
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
		rt := r.tiles[l]
		rt.mu.Lock()
		back := rt.back
		rt.back = nil
		rt.mu.Unlock()
		size := ly.in * ly.out
		if len(back) != 2*size {
			return fmt.Errorf("layer %d's weights were not handed back", l)
		}
		scatterLayer(params, ly, back[:size])
		scatterLayer(vel, ly, back[size:])
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
