package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/train/resident"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// residentWatch is an executor that computes tiles with the reference
// kernels and watches them as a hub would if a contributor kept the
// weights: every forward and input-gradient product is checked against the
// trackers' sketches instead of against W, and every weight-gradient tile
// (X and dY of one weight tile) becomes the tracker's update.
type residentWatch struct {
	tr      *Trainer
	inner   tile.Executor
	trk     []*resident.Tracker // per weight tile
	tnSeen  int                 // weight-gradient batches since the step's forward began
	checks  int
	failed  []error
	updates int
	skip    int // a weight tile whose next update the tracker does not see (-1: none)
	loosest float64
}

func (w *residentWatch) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	b := tile.NewBatch(0)
	if err := w.inner.Start(ctx, tiles).Wait(ctx); err != nil {
		w.failed = append(w.failed, err)
		return b
	}
	layers := w.tr.m.layers
	if len(tiles) > 0 && tiles[0].Op == kernel.MatMulNN && tiles[0].Shape.K == layers[0].in {
		w.tnSeen = 0 // a step's forward pass begins
	}
	var tnLayer *layer
	if len(tiles) > 0 && tiles[0].Op == kernel.MatMulTN {
		// backprop starts the weight gradients one layer at a time, last first.
		tnLayer = &layers[len(layers)-1-w.tnSeen]
		w.tnSeen++
	}
	for j, tl := range tiles {
		var err error
		switch tl.Op {
		case kernel.MatMulNN:
			err = w.trk[tl.Weight].CheckForward(tl.A, tl.C, tl.Shape.M)
			w.checks++
		case kernel.MatMulNT:
			err = w.trk[tl.Weight].CheckInputGrad(tl.A, tl.C, tl.Shape.M)
			w.checks++
		case kernel.MatMulTN:
			idx := tnLayer.tiles[j].index
			if idx == w.skip {
				w.skip = -1
				continue
			}
			err = w.trk[idx].Update(tl.A, tl.B, tl.Shape.K)
			w.updates++
		}
		if err != nil {
			w.failed = append(w.failed, err)
		}
	}
	return b
}

// state returns weight tile i's weights and momentum in the trainer.
func (w *residentWatch) state(i int) (wt, vel []float32) {
	vs := w.tr.opt.(*sgd).vel
	for l := range w.tr.m.layers {
		ly := &w.tr.m.layers[l]
		for _, t := range ly.tiles {
			if t.index == i {
				return tileOf(w.tr.params, ly, t), tileOf(vs, ly, t)
			}
		}
	}
	return nil, nil
}

func watchResident(t *testing.T, tr *Trainer, spec Spec, rng *rand.Rand) *residentWatch {
	t.Helper()
	w := &residentWatch{tr: tr, inner: tile.NewLocal(0), skip: -1}
	for i := range tr.m.tileElems {
		wt, vel := w.state(i)
		ly := w.layerOf(i)
		k, err := resident.New(wt, vel, ly.in, len(wt)/ly.in, float32(spec.Optimizer.LearningRate), float32(spec.Optimizer.Momentum), rng)
		if err != nil {
			t.Fatal(err)
		}
		w.trk = append(w.trk, k)
	}
	return w
}

func (w *residentWatch) layerOf(i int) *layer {
	for l := range w.tr.m.layers {
		for _, t := range w.tr.m.layers[l].tiles {
			if t.index == i {
				return &w.tr.m.layers[l]
			}
		}
	}
	return nil
}

// TestResidentChecksFollowMNISTTraining trains the default MLP with SGD
// and momentum on MNIST, the hub's own optimizer standing in for the
// contributor (it is the same float32 arithmetic, kernel.MomentumStep's),
// while trackers follow every weight tile from X and dY alone: no honest
// product fails its check, the weights and momentum pass when handed back
// after 30 steps and are anchored again, and an update one tile's tracker
// does not see is caught by the next product made with that tile.
func TestResidentChecksFollowMNISTTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST for 60 steps; runs in the full (non -short) pass")
	}
	ctx := context.Background()
	data, err := (&DataLoader{}).Load(ctx)
	if err != nil {
		t.Fatalf("load MNIST: %v", err)
	}
	spec := MNISTSpec()
	spec.Optimizer = OptimizerSpec{Type: "sgd", LearningRate: 0.05, Momentum: 0.9}
	m, err := newMLPModel(spec, data)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	w := watchResident(t, m.Trainer, spec, rng)
	// Steps 31 to 60 also take the contributor's claimed norms after
	// each update, which keep the bounds within 2.01 of the true norms.
	for step := 1; step <= 60; step++ {
		claims := step > 30
		if _, err := m.Step(ctx, w); err != nil {
			t.Fatal(err)
		}
		if len(w.failed) > 0 {
			t.Fatalf("step %d: %d honest products failed, the first: %v", step, len(w.failed), w.failed[0])
		}
		for i, k := range w.trk {
			wt, vel := w.state(i)
			if claims {
				sq := kernel.SquaredNorms(nil, wt, k.Rows(), k.Cols())
				if err := k.Claim(sq[:k.Rows()], sq[k.Rows():]); err != nil {
					t.Fatal(err)
				}
			}
			if step%30 != 0 {
				continue
			}
			loose := k.Looseness(wt)
			if claims && loose > 2.01 {
				t.Errorf("step %d, weight tile %d: norm bounds %.2f× the true norms with claims", step, i, loose)
			}
			w.loosest = max(w.loosest, loose)
			if err := k.CheckState(wt, vel); err != nil {
				t.Fatalf("step %d, weight tile %d handed back: %v", step, i, err)
			}
			if err := k.Anchor(wt, vel, rng); err != nil {
				t.Fatal(err)
			}
		}
		if step%30 == 0 {
			t.Logf("step %d (norms claimed: %v): %d products checked against sketches, %d updates followed; norm bounds up to %.1f× the true norms before anchoring",
				step, claims, w.checks, w.updates, w.loosest)
			w.loosest = 0
		}
	}
	// The tracker of weight tile 9 (the second layer's second tile) misses
	// one update: the trainer applies it, as a contributor applying an
	// update the hub never sent would.
	w.skip = 9
	if _, err := m.Step(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.failed = nil
	if _, err := m.Step(ctx, w); err != nil {
		t.Fatal(err)
	}
	var mm *resident.Mismatch
	if len(w.failed) == 0 || !errors.As(w.failed[0], &mm) {
		t.Fatalf("an update the tracker missed went unnoticed: %v", w.failed)
	}
	t.Logf("caught: %v", w.failed[0])
}
