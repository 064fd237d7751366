package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Trainer holds a model's master weights and optimizer state and runs
// training steps whose matmuls an tile.Executor computes. Element-wise work
// (bias, ReLU, softmax cross-entropy, bias gradients, the optimizer) stays
// here; every matmul goes out as a Tile so that it can be verified.
//
// A step is a small DAG. Forward: for each layer, one NN tile per weight
// tile (Y[:, tile] = X·W_tile). Backward, from the last layer down: the
// weight-gradient tiles (dW_tile = Xᵀ·dY[:, tile], TN) are started and
// left running while the input-gradient partials (dX += dY[:, tile]·W_tileᵀ,
// NT) are computed, so the next layer's backward begins as soon as its
// input gradient is complete; the step waits for every dW only before the
// optimizer update.
//
// Inputs handed to tiles are never written again: activations are fresh
// per step and the optimizer writes new parameters out of place.
type Trainer struct {
	m      *model
	opt    optimizer
	params []float32
	step   int
	// stepTime, if set, receives each completed step's duration (the
	// hub's step time metric).
	stepTime func(time.Duration)
	// res, when set, has contributors keep the weights (residentmode.go)
	// while keeper reports one connected; seed draws its trackers' vectors.
	res    *residentMode
	keeper Keeper
	seed   uint64
}

// NewTrainer returns a trainer for spec's model and optimizer, with weights
// initialized from spec.Seed.
func NewTrainer(spec Spec) (*Trainer, error) {
	m, err := newModel(spec.Model.Layers, spec.TileCols)
	if err != nil {
		return nil, err
	}
	opt, err := newOptimizer(spec.Optimizer, m.nParams)
	if err != nil {
		return nil, err
	}
	t := &Trainer{m: m, opt: opt, params: make([]float32, m.nParams), seed: spec.Seed}
	m.init(t.params, spec.Seed)
	if spec.ResidentWeights {
		t.res = newResidentMode(spec)
	}
	return t, nil
}

// Keeper is what a trainer with resident weights asks of the hub; a job's
// Remote is one.
type Keeper interface {
	// Keeps reports whether a contributor that could keep bytes of
	// weights (matrices and momentum) is connected (hub.Hub.Keeps).
	Keeps(bytes int64) bool
	// Strand fails k's tasks when nobody can run them any more, and
	// reports whether k is lost (hub.Hub.Strand).
	Strand(k *hub.Kept) bool
	// Holders lists the ordinary contributors that may keep weights now,
	// with what each has received of them (Spec.OrdinaryKeepers).
	Holders() []Holder
	// Reserve records that addr receives the weight tiles, before a block
	// of them is placed there.
	Reserve(addr string, tiles []int) error
}

// SetKeeper gives a trainer with resident weights (Spec.ResidentWeights)
// its Keeper. Until it is set, or while it reports no contributor that
// could keep the weights, steps are ordinary: the hub holds the weights
// and applies the update itself.
func (t *Trainer) SetKeeper(k Keeper) { t.keeper = k }

// WeightsKept reports whether contributors keep the weights now (resident
// weights installed). It may be called from any goroutine.
func (t *Trainer) WeightsKept() bool { return t.res != nil && t.res.kept.Load() }

// BlocksRecovered counts the kept blocks whose keeper was lost and which
// the hub rebuilt instead of going back to the anchor (recovery.go). It
// may be called from any goroutine.
func (t *Trainer) BlocksRecovered() int {
	if t.res == nil {
		return 0
	}
	return int(t.res.recovered.Load())
}

// ReleaseWeights lets the contributors keeping the weights forget them,
// when training stops. The trainer goes back to its last anchor, the last
// state it holds (nothing changes after a step that handed the weights
// back, as a job's last step does). Call it from the goroutine that steps.
func (t *Trainer) ReleaseWeights() {
	if t.res != nil && t.res.blocks != nil {
		t.res.rollback(t)
	}
}

// StepsDone returns the number of optimizer steps applied.
func (t *Trainer) StepsDone() int { return t.step }

// TileFractions returns, per weight tile, its share of the model's weights.
func (t *Trainer) TileFractions() []float64 {
	f := make([]float64, len(t.m.tileElems))
	for i, e := range t.m.tileElems {
		f[i] = float64(e) / float64(t.m.nWeights)
	}
	return f
}

// StepFLOPs returns the matmul work of one step with batch size b.
func (t *Trainer) StepFLOPs(b int) float64 {
	var f float64
	for l, ly := range t.m.layers {
		mac := float64(b * ly.in * ly.out)
		f += 2 * mac * 2 // forward and weight gradient
		if l > 0 {
			f += 2 * mac // input gradient
		}
	}
	return f
}

// forward computes every layer's pre-activation z[l] (B×out) and the
// input of each layer a[l] (a[0] = x), starting tiles on exec.
// With resident set the weights are the contributors' (residentmode.go).
func (t *Trainer) forward(ctx context.Context, exec tile.Executor, x []float32, b int, resident bool) (a, z [][]float32, err error) {
	L := len(t.m.layers)
	a = make([][]float32, L)
	z = make([][]float32, L)
	a[0] = x
	for l := range t.m.layers {
		ly := &t.m.layers[l]
		parts := t.parts(l, resident)
		tiles := make([]*tile.Tile, len(parts))
		for j, wt := range parts {
			tiles[j] = &tile.Tile{Op: kernel.MatMulNN, Shape: kernel.Shape{M: b, K: ly.in, N: wt.width},
				A: a[l], C: make([]float32, b*wt.width)}
			if resident {
				t.res.withBlock(tiles[j], l, j, kernel.MatMulNN)
			} else {
				tiles[j].B, tiles[j].Weight = tileOf(t.params, ly, wt), wt.index
			}
		}
		if err := t.run(ctx, exec, tiles, resident); err != nil {
			return nil, nil, fmt.Errorf("layer %d forward: %w", l, err)
		}
		zl := make([]float32, b*ly.out)
		bias := t.params[ly.bias : ly.bias+ly.out]
		for j, wt := range parts {
			c := tiles[j].C
			wt.each(func(c0, w, at int) {
				for r := 0; r < b; r++ {
					row := zl[r*ly.out+c0 : r*ly.out+c0+w]
					for k, v := range c[r*wt.width+at : r*wt.width+at+w] {
						row[k] = v + bias[c0+k]
					}
				}
			})
		}
		z[l] = zl
		if l+1 < L {
			next := make([]float32, len(zl))
			for i, v := range zl {
				next[i] = max(v, 0)
			}
			a[l+1] = next
		}
	}
	return a, z, nil
}

// Step runs one training step on the batch x (B×in) with labels y and
// returns the mean cross-entropy loss before the update.
func (t *Trainer) Step(ctx context.Context, exec tile.Executor, x []float32, y []uint8) (float64, error) {
	if t.residentNext() {
		return t.stepResident(ctx, exec, x, y)
	}
	start := time.Now()
	loss, grad, err := t.backprop(ctx, exec, x, y, false)
	if err != nil {
		return 0, err
	}
	next := make([]float32, len(t.params))
	t.opt.update(t.params, grad, next)
	t.params = next
	t.step++
	if t.stepTime != nil {
		t.stepTime(time.Since(start))
	}
	return loss, nil
}

// residentNext reports whether the next step keeps the weights at
// contributors: they are installed already, or a plan places them (kept
// for install): whole layers at an own worker with room for all of them,
// or, with ordinary keepers, blocks at ordinary contributors within the
// exposure cap (placement.go).
func (t *Trainer) residentNext() bool {
	r := t.res
	switch {
	case r == nil:
		return false
	case r.blocks != nil && r.allHeld():
		// Every keeper is gone: the hub's rebuilt weights become the
		// anchor, and the step is planned afresh (recovery.go).
		if err := r.settle(t); err != nil {
			r.rollback(t)
		}
		return t.residentNext()
	case r.blocks != nil:
		return true
	case t.keeper == nil:
		return false
	case t.keeper.Keeps(t.keptBytes()):
		r.plan = wholeLayers(t.m)
		return true
	case !r.ordinary:
		return false
	}
	plan, ok := place(t.m, t.keeper.Holders(), t.TileFractions())
	r.plan = plan
	return ok
}

// keptBytes is what keeping every layer takes: the weights and their
// momentum, in bytes. One contributor must have room for all of them, so
// that the layers never wait for room that no connection has.
func (t *Trainer) keptBytes() int64 { return 8 * int64(t.m.nWeights) }

// parts returns the column blocks layer l's products are cut into: its
// weight tiles, or with resident weights its kept blocks.
func (t *Trainer) parts(l int, resident bool) []weightTile {
	if resident {
		return t.res.parts(l)
	}
	return t.m.layers[l].tiles
}

// stepResident is Step with resident weights (residentmode.go).
func (t *Trainer) stepResident(ctx context.Context, exec tile.Executor, x []float32, y []uint8) (float64, error) {
	start := time.Now()
	r := t.res
	if r.blocks == nil {
		if err := r.install(t, t.seed, r.plan); err != nil {
			return 0, err
		}
	} else if err := r.replace(t); err != nil {
		r.rollback(t)
		return 0, err
	}
	back := r.handsBack(t.step + 1)
	stop := r.watch(t.keeper)
	loss, grad, err := t.backprop(ctx, exec, x, y, true)
	stop()
	if err == nil && back {
		err = r.takeBack(t)
	}
	if err != nil {
		// What the contributors hold may now be ahead of the hub: start
		// again from the anchor.
		r.rollback(t)
		if errors.Is(err, hub.ErrKeptLost) {
			return 0, fmt.Errorf("%w: %w", errRolledBack, err)
		}
		return 0, err
	}
	t.params = r.stepBiases(t, grad)
	t.step++
	if back {
		r.anchor(t)
		if r.anyHeld() {
			r.forget() // the held blocks are placed afresh with the rest
		}
	}
	if t.stepTime != nil {
		t.stepTime(time.Since(start))
	}
	return loss, nil
}

// backprop returns the batch's mean loss and its gradient with respect to
// every parameter; with resident set, the gradient of the biases only (the
// contributors keeping the weights apply theirs).
func (t *Trainer) backprop(ctx context.Context, exec tile.Executor, x []float32, y []uint8, resident bool) (float64, []float32, error) {
	b := len(y)
	if b == 0 || len(x) != b*t.m.layers[0].in {
		return 0, nil, fmt.Errorf("batch: %d inputs for %d labels", len(x), b)
	}
	back := resident && t.res.handsBack(t.step+1)
	a, z, err := t.forward(ctx, exec, x, b, resident)
	if err != nil {
		return 0, nil, err
	}
	L := len(t.m.layers)
	nll, dz := lm.CrossEntropy(z[L-1], y, b, t.m.layers[L-1].out, true)
	loss := nll / float64(b)

	grad := make([]float32, t.m.nParams)
	var dW []*tile.Batch
	var dWTiles [][]*tile.Tile
	dzs := make([][]float32, L) // each layer's output gradient, for the history
	for l := L - 1; l >= 0; l-- {
		ly := &t.m.layers[l]
		parts := t.parts(l, resident)
		// dY split into the parts' column blocks, contiguous for sending.
		dzt := make([][]float32, len(parts))
		for j, wt := range parts {
			dzt[j] = columns(dz, b, ly.out, wt)
		}
		dzs[l] = dz
		wg := make([]*tile.Tile, 0, len(parts))
		for j, wt := range parts {
			if resident && t.res.blocks[l][j].held {
				continue // the hub replays its update (recovery.go)
			}
			g := &tile.Tile{Op: kernel.MatMulTN, Shape: kernel.Shape{M: ly.in, K: b, N: wt.width},
				A: a[l], B: dzt[j], Weight: -1}
			if resident { // the contributor applies the gradient itself
				g.Resident = t.res.update(l, j, back)
			} else {
				g.C = tileOf(grad, ly, wt)
			}
			wg = append(wg, g)
		}
		db := grad[ly.bias : ly.bias+ly.out]
		for r := 0; r < b; r++ {
			for k, v := range dz[r*ly.out : (r+1)*ly.out] {
				db[k] += v
			}
		}
		if l == 0 { // no gradient for the input
			dW, dWTiles = append(dW, t.start(ctx, exec, wg, resident)), append(dWTiles, wg)
			break
		}
		dx := make([]*tile.Tile, len(parts))
		for j, wt := range parts {
			dx[j] = &tile.Tile{Op: kernel.MatMulNT, Shape: kernel.Shape{M: b, K: wt.width, N: ly.in},
				A: dzt[j], C: make([]float32, b*ly.in)}
			if resident {
				t.res.withBlock(dx[j], l, j, kernel.MatMulNT)
			} else {
				dx[j].B, dx[j].Weight = tileOf(t.params, ly, wt), wt.index
			}
		}
		// The input gradient is on the critical path: queue it before the
		// weight gradients, which only the optimizer waits for.
		dxBatch := t.start(ctx, exec, dx, resident)
		dW, dWTiles = append(dW, t.start(ctx, exec, wg, resident)), append(dWTiles, wg)
		if err := t.finish(ctx, dx, dxBatch.Wait(ctx), resident); err != nil {
			return 0, nil, fmt.Errorf("layer %d input gradient: %w", l, err)
		}
		// dX = Σ_j partial_j, in tile order so every executor sums alike;
		// then back through the ReLU of the layer below.
		prev := z[l-1]
		next := make([]float32, b*ly.in)
		for i := range next {
			if prev[i] <= 0 {
				continue
			}
			var s float32
			for _, p := range dx {
				s += p.C[i]
			}
			next[i] = s
		}
		dz = next
	}
	for i, bt := range dW {
		if err := t.finish(ctx, dWTiles[i], bt.Wait(ctx), resident); err != nil {
			return 0, nil, fmt.Errorf("layer %d weight gradient: %w", L-1-i, err)
		}
	}
	if resident {
		a[0] = slices.Clone(x) // the caller's batch: it may reuse it
		t.res.record(stepRecord{a: a, dz: dzs})
	}
	return loss, grad, nil
}

// run starts tiles on exec and waits for them; in a resident step (with
// resident set), through the resident mode, which computes held blocks'
// products on the hub and recovers blocks whose keepers were lost
// (recovery.go).
func (t *Trainer) run(ctx context.Context, exec tile.Executor, tiles []*tile.Tile, resident bool) error {
	return t.finish(ctx, tiles, t.start(ctx, exec, tiles, resident).Wait(ctx), resident)
}

// start starts tiles as run does.
func (t *Trainer) start(ctx context.Context, exec tile.Executor, tiles []*tile.Tile, resident bool) *tile.Batch {
	if resident {
		return t.res.start(ctx, exec, tiles)
	}
	return exec.Start(ctx, tiles)
}

// finish returns the outcome err of tiles started by start, as run does.
func (t *Trainer) finish(ctx context.Context, tiles []*tile.Tile, err error, resident bool) error {
	if resident {
		return t.res.recover(ctx, t, tiles, err)
	}
	return err
}

// columns returns the columns of the b×n matrix m that part wt covers, as
// a contiguous b×wt.width matrix.
func columns(m []float32, b, n int, wt weightTile) []float32 {
	out := make([]float32, b*wt.width)
	wt.each(func(c0, w, at int) {
		for r := 0; r < b; r++ {
			copy(out[r*wt.width+at:r*wt.width+at+w], m[r*n+c0:r*n+c0+w])
		}
	})
	return out
}

// Evaluate returns the mean loss and accuracy of the current weights on
// (x, y), computing the forward pass with exec in batches of size bs.
func (t *Trainer) Evaluate(ctx context.Context, exec tile.Executor, x []float32, y []uint8, bs int) (loss, acc float64, err error) {
	in := t.m.layers[0].in
	classes := t.m.layers[len(t.m.layers)-1].out
	correct := 0
	for s := 0; s < len(y); s += bs {
		e := min(s+bs, len(y))
		_, z, err := t.forward(ctx, exec, x[s*in:e*in], e-s, false)
		if err != nil {
			return 0, 0, err
		}
		logits := z[len(z)-1]
		nll, _ := lm.CrossEntropy(logits, y[s:e], e-s, classes, false)
		loss += nll
		for r := 0; r < e-s; r++ {
			row := logits[r*classes : (r+1)*classes]
			best := 0
			for k, v := range row {
				if v > row[best] {
					best = k
				}
			}
			if best == int(y[s+r]) {
				correct++
			}
		}
	}
	return loss / float64(len(y)), float64(correct) / float64(len(y)), nil
}

// Classify returns, for each of the b inputs in x (b×in), the softmax
// probabilities of the classes, the forward pass's tiles started on exec.
func (t *Trainer) Classify(ctx context.Context, exec tile.Executor, x []float32, b int) ([][]float64, error) {
	in := t.m.layers[0].in
	if b < 1 || len(x) != b*in {
		return nil, fmt.Errorf("classify: %d values for %d inputs of %d", len(x), b, in)
	}
	_, z, err := t.forward(ctx, exec, x, b, false)
	if err != nil {
		return nil, err
	}
	classes := t.m.layers[len(t.m.layers)-1].out
	logits := z[len(z)-1]
	out := make([][]float64, b)
	for r := range b {
		row := logits[r*classes : (r+1)*classes]
		mx := float64(row[0])
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		p := make([]float64, classes)
		var sum float64
		for k, v := range row {
			p[k] = math.Exp(float64(v) - mx)
			sum += p[k]
		}
		for k := range p {
			p[k] /= sum
		}
		out[r] = p
	}
	return out, nil
}
