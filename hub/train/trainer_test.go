package train

import (
	"context"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"math"
	"math/rand/v2"
	"testing"
)

func tinySpec(layers []int, tileCols int) Spec {
	s := MNISTSpec()
	s.Model.Layers = layers
	s.TileCols = tileCols
	return s
}

func randomBatch(rng *rand.Rand, b, in, classes int) ([]float32, []uint8) {
	x := make([]float32, b*in)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]uint8, b)
	for i := range y {
		y[i] = uint8(rng.IntN(classes))
	}
	return x, y
}

// TestTiledEqualsUntiled checks that cutting the weights into column tiles
// changes nothing: the loss and every gradient match the one-tile model
// with the same weights.
func TestTiledEqualsUntiled(t *testing.T) {
	ctx := context.Background()
	layers := []int{23, 17, 9, 5}
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := randomBatch(rng, 7, 23, 5)
	whole, err := NewTrainer(tinySpec(layers, 1000))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []int{1, 4, 8, 16} {
		tiled, err := NewTrainer(tinySpec(layers, tc))
		if err != nil {
			t.Fatal(err)
		}
		copyWeights(t, whole, tiled)
		l1, g1, err := whole.backprop(ctx, tile.NewLocal(2), x, y, false)
		if err != nil {
			t.Fatal(err)
		}
		l2, g2, err := tiled.backprop(ctx, tile.NewLocal(2), x, y, false)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l1-l2) > 1e-6 {
			t.Errorf("tile %d: loss %v, untiled %v", tc, l2, l1)
		}
		// Compare gradients element by element through the layouts.
		for l := range whole.m.layers {
			for i := 0; i < whole.m.layers[l].in; i++ {
				for c := 0; c < whole.m.layers[l].out; c++ {
					a, b := weightAt(whole, g1, l, i, c), weightAt(tiled, g2, l, i, c)
					if math.Abs(float64(a-b)) > 1e-5*(1+math.Abs(float64(a))) {
						t.Fatalf("tile %d: dW[%d][%d,%d] = %v, untiled %v", tc, l, i, c, b, a)
					}
				}
			}
		}
	}
}

// weightAt returns element (i, c) of layer l's weights in the vector p.
func weightAt(tr *Trainer, p []float32, l, i, c int) float32 {
	ly := &tr.m.layers[l]
	for _, wt := range ly.tiles {
		if c >= wt.col0 && c < wt.col0+wt.width {
			return p[wt.offset+i*wt.width+c-wt.col0]
		}
	}
	panic("column out of range")
}

func copyWeights(tb testing.TB, from, to *Trainer) {
	tb.Helper()
	for l, ly := range from.m.layers {
		for i := 0; i < ly.in; i++ {
			for c := 0; c < ly.out; c++ {
				tl := &to.m.layers[l]
				for _, wt := range tl.tiles {
					if c >= wt.col0 && c < wt.col0+wt.width {
						to.params[wt.offset+i*wt.width+c-wt.col0] = weightAt(from, from.params, l, i, c)
					}
				}
			}
		}
		copy(to.params[to.m.layers[l].bias:to.m.layers[l].bias+ly.out], from.params[ly.bias:ly.bias+ly.out])
	}
}

// TestGradientFiniteDifference compares backprop's gradient with central
// differences of the loss, in float64-free float32 arithmetic, on a tiny
// model with several tiles per layer.
func TestGradientFiniteDifference(t *testing.T) {
	ctx := context.Background()
	tr, err := NewTrainer(tinySpec([]int{6, 5, 4, 3}, 2))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := randomBatch(rng, 4, 6, 3)
	// Biases away from zero keep ReLUs off their kink during the probe.
	for _, ly := range tr.m.layers {
		for k := range ly.out {
			tr.params[ly.bias+k] = 0.1 + 0.05*float32(k)
		}
	}
	exec := tile.NewLocal(1)
	_, grad, err := tr.backprop(ctx, exec, x, y, false)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-2
	worst := 0.0
	for i := range tr.params {
		orig := tr.params[i]
		tr.params[i] = orig + h
		lp, _, err1 := tr.backprop(ctx, exec, x, y, false)
		tr.params[i] = orig - h
		lm, _, err2 := tr.backprop(ctx, exec, x, y, false)
		tr.params[i] = orig
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		num := (lp - lm) / (2 * h)
		diff := math.Abs(num-float64(grad[i])) / math.Max(1e-2, math.Abs(num)+math.Abs(float64(grad[i])))
		worst = math.Max(worst, diff)
		if diff > 2e-3 {
			t.Errorf("param %d: backprop %.6f, finite difference %.6f", i, grad[i], num)
		}
	}
	t.Logf("worst relative gradient error %.2e over %d parameters", worst, len(tr.params))
}

// TestTrainingReducesLoss is a smoke test of the optimizer: a few hundred
// steps on a fixed learnable batch drive the loss down.
func TestTrainingReducesLoss(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []OptimizerSpec{
		{Type: "adam", LearningRate: 1e-2, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8},
		{Type: "sgd", LearningRate: 0.1, Momentum: 0.9},
	} {
		spec := tinySpec([]int{8, 16, 4}, 4)
		spec.Optimizer = opt
		tr, err := NewTrainer(spec)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 8))
		x, y := randomBatch(rng, 32, 8, 4)
		first, last := 0.0, 0.0
		for s := range 300 {
			loss, err := tr.Step(ctx, tile.NewLocal(2), x, y)
			if err != nil {
				t.Fatal(err)
			}
			if s == 0 {
				first = loss
			}
			last = loss
		}
		if !(last < first/3) {
			t.Errorf("%s: loss went from %.3f to %.3f", opt.Type, first, last)
		}
		if tr.StepsDone() != 300 {
			t.Errorf("%s: %d steps recorded", opt.Type, tr.StepsDone())
		}
	}
}
