package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// keepers is an executor and Keeper that plays the ordinary contributors
// keeping a resident job's blocks, as the hub and its contributors would
// together, in one goroutine: it keeps each Kept's matrices, computes its
// products and applies its updates as a contributor does, and checks
// every result with the tile's own Verify, as the hub does. A Kept that
// lose names fails its tasks with hub.ErrKeptLost, from the task lose
// says on, as when its keeper leaves.
type keepers struct {
	mu      sync.Mutex // Strand is called by the trainer's watch
	state   map[*hub.Kept][2][]float32
	holders []Holder
	lose    func(k *hub.Kept, op kernel.Op) bool
	lost    map[*hub.Kept]bool
}

func (e *keepers) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	b := tile.NewBatch(len(tiles))
	for _, tl := range tiles {
		tl.Err = e.run(tl)
		b.Complete(tl.Err)
	}
	return b
}

func (e *keepers) run(tl *tile.Tile) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := tl.Resident
	if res == nil {
		return kernel.Reference(tl.Op, tl.Shape, tl.A, tl.B, tl.C)
	}
	k := res.Kept
	if e.lost[k] || (e.lose != nil && e.lose(k, tl.Op)) {
		e.lost[k] = true
		return hub.ErrKeptLost
	}
	st, ok := e.state[k]
	if !ok {
		st = [2][]float32{slices.Clone(k.W), slices.Clone(k.V)}
		e.state[k] = st
	}
	w, v := st[0], st[1]
	if res.Update.Mode == protocol.ResidentNone {
		if err := kernel.Reference(tl.Op, tl.Shape, tl.A, w, tl.C); err != nil {
			return err
		}
		return res.Verify(tl.A, nil, tl.C)
	}
	grad := make([]float32, len(w))
	if err := kernel.Reference(kernel.MatMulTN, tl.Shape, tl.A, tl.B, grad); err != nil {
		return err
	}
	if err := kernel.MomentumStep(w, v, grad, res.Update.LR, res.Update.Momentum); err != nil {
		return err
	}
	c := kernel.SquaredNorms(nil, w, k.Rows, k.Cols)
	if res.Update.Mode == protocol.ResidentStepReturn {
		c = append(slices.Clone(w), v...)
	}
	return res.Verify(tl.A, tl.B, c)
}

func (e *keepers) Keeps(int64) bool { return false }
func (e *keepers) Strand(k *hub.Kept) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lost[k]
}
func (e *keepers) Holders() []Holder                  { return e.holders }
func (e *keepers) Reserve(addr string, _ []int) error { return nil }

// keep makes keepers tr's Keeper: four holders that have each seen a
// scattered quarter of its tiles, with none of their cap left, so that
// every layer is cut into blocks of tiles that are not adjacent.
func keep(tr *Trainer) *keepers {
	e := &keepers{state: map[*hub.Kept][2][]float32{}, holders: scattered(4, len(tr.m.tileElems)), lost: map[*hub.Kept]bool{}}
	tr.SetKeeper(e)
	return e
}

// recoverySpec is a small resident job with ordinary keepers, handing the
// weights back every 6 steps.
func recoverySpec() Spec {
	s := MNISTSpec()
	s.Model.Layers, s.TileCols, s.BatchSize = []int{784, 64, 32, 10}, 8, 16
	s.Optimizer = OptimizerSpec{Type: "sgd", LearningRate: 0.05, Momentum: 0.9}
	s.ResidentWeights, s.OrdinaryKeepers, s.WireDType = true, true, "float32"
	s.EvalEvery, s.CheckpointEvery, s.MaxSteps = 6, 6, 14
	return s
}

// TestResidentRecoveryMatchesReference trains with blocks kept by four
// holders that have each seen a scattered quarter of the tiles (so the
// layers are cut into blocks of tiles that are not adjacent), and loses
// one keeper's block in each way it can go: before a step (found by
// Strand), at its forward product, at its input-gradient product, at its
// update, and at a hand-back. The job never goes back to its anchor, and
// every loss and the final weights equal the local reference's.
func TestResidentRecoveryMatchesReference(t *testing.T) {
	for _, when := range []struct {
		name string
		step int
		op   kernel.Op // the first task of the block that fails (0: found before the step)
	}{
		{"BeforeStep", 3, 0},
		{"Forward", 3, kernel.MatMulNN},
		{"InputGradient", 4, kernel.MatMulNT},
		{"Update", 2, kernel.MatMulTN},
		{"HandBack", 6, kernel.MatMulTN},
	} {
		t.Run(when.name, func(t *testing.T) {
			spec := recoverySpec()
			dist, err := NewTrainer(spec)
			if err != nil {
				t.Fatal(err)
			}
			plain := spec
			plain.ResidentWeights, plain.OrdinaryKeepers = false, false
			local, err := NewTrainer(plain)
			if err != nil {
				t.Fatal(err)
			}
			e := keep(dist)
			rng := rand.New(rand.NewPCG(5, 6))
			ctx := context.Background()
			for s := range spec.MaxSteps {
				x, y := randomBatch(rng, spec.BatchSize, 784, 10)
				if s+1 == when.step {
					// The keeper of layer 1's second block is lost.
					victim := dist.res.blocks[1][1].kept
					if when.op == 0 {
						e.mu.Lock()
						e.lost[victim] = true
						e.mu.Unlock()
					} else {
						e.lose = func(k *hub.Kept, op kernel.Op) bool { return k == victim && op == when.op }
					}
				}
				dl, err := dist.Step(ctx, e, x, y)
				if err != nil {
					t.Fatalf("step %d: %v", s+1, err)
				}
				ll, err := local.Step(ctx, tile.NewLocal(1), x, y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(dl-ll) > 1e-5*math.Abs(ll) {
					t.Errorf("step %d: loss %.7f with recovery, %.7f in the local reference", s+1, dl, ll)
				}
				if s == 0 && (!dist.WeightsKept() || len(dist.res.blocks[1]) < 2) {
					t.Fatalf("after step 1: weights kept %v, layer 1 in %d blocks; want kept, at least 2", dist.WeightsKept(), len(dist.res.blocks[1]))
				}
			}
			if dist.BlocksRecovered() != 1 {
				t.Errorf("%d blocks recovered, want 1", dist.BlocksRecovered())
			}
			dist.ReleaseWeights() // back to the last anchor: the last step handed back
			var worst float64
			for i, v := range dist.params {
				worst = max(worst, math.Abs(float64(v-local.params[i]))/max(math.Abs(float64(local.params[i])), 1e-3))
			}
			if worst > 1e-4 {
				t.Errorf("parameters differ from the local reference's by %.3g (relative)", worst)
			}
		})
	}
}

// TestResidentRecoveryBFloat16: with operands in bfloat16, a block lost
// at its forward product and rebuilt by the hub gives the losses of the
// same run without the loss: the hub rounds the inputs and gradients it
// replays and multiplies as the keepers received them, and keeps the
// weights in float32 as they do.
func TestResidentRecoveryBFloat16(t *testing.T) {
	run := func(lose bool) []float64 {
		spec := recoverySpec()
		spec.WireDType = "bfloat16"
		tr, err := NewTrainer(spec)
		if err != nil {
			t.Fatal(err)
		}
		e := keep(tr)
		exec := roundOperands(e, spec.wire())
		rng := rand.New(rand.NewPCG(5, 6))
		var losses []float64
		for s := range spec.MaxSteps {
			x, y := randomBatch(rng, spec.BatchSize, 784, 10)
			if lose && s+1 == 3 {
				victim := tr.res.blocks[1][1].kept
				e.lose = func(k *hub.Kept, op kernel.Op) bool { return k == victim && op == kernel.MatMulNN }
			}
			l, err := tr.Step(context.Background(), exec, x, y)
			if err != nil {
				t.Fatalf("step %d: %v", s+1, err)
			}
			losses = append(losses, l)
		}
		if lose && tr.BlocksRecovered() != 1 {
			t.Errorf("%d blocks recovered, want 1", tr.BlocksRecovered())
		}
		return losses
	}
	want, got := run(false), run(true)
	for s := range want {
		if math.Abs(got[s]-want[s]) > 1e-5*math.Abs(want[s]) {
			t.Errorf("step %d: loss %.7f with the block rebuilt, %.7f without losing it", s+1, got[s], want[s])
		}
	}
}
