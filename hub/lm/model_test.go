package lm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/lm/lmtest"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

func tinyConfig(tileCols, attnBatch int) Config {
	return Config{Layers: 2, Embd: 16, Heads: 2, Context: 8, TileCols: tileCols, AttnBatch: attnBatch}
}

func tinyOpt() OptConfig {
	return OptConfig{LR: 1e-2, MinLR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, WarmupSteps: 2, MaxSteps: 20, GradClip: 1}
}

// randomize gives every parameter a value of order one, so that every
// path of the network carries gradient a test can see.
func randomize(m *Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range m.params {
		m.params[i] = float32(rng.NormFloat64() * 0.3)
	}
	for _, ts := range m.l.tensors {
		if len(ts.shape) == 1 && ts.name[len(ts.name)-6:] == "weight" { // LayerNorm gains near 1
			for i := ts.off; i < ts.off+ts.n; i++ {
				m.params[i] += 1
			}
		}
	}
}

func randomWindows(rng *rand.Rand, n, length int) []byte {
	w := make([]byte, n*(length+1))
	for i := range w {
		w[i] = byte(rng.IntN(Vocab))
	}
	return w
}

// TestTransformerTiledEqualsUntiled: cutting the weights into tiles and
// attention into batched tiles of several sizes changes neither the loss
// nor any gradient, compared with one tile per matrix.
func TestTransformerTiledEqualsUntiled(t *testing.T) {
	ctx := context.Background()
	whole, err := NewTrainer(tinyConfig(1<<12, 4096), tinyOpt(), 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(whole.Model, 5)
	w := randomWindows(rand.New(rand.NewPCG(9, 9)), 3, 8)
	l1, g1, err := whole.gradients(ctx, tile.NewLocal(2), w)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cols, attn int }{{5, 1}, {7, 4}, {16, 2}, {33, 5}} {
		tiled, err := NewTrainer(tinyConfig(tc.cols, tc.attn), tinyOpt(), 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		copy(tiled.params, whole.params)
		l2, g2, err := tiled.gradients(ctx, tile.NewLocal(2), w)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l1-l2) > 1e-6*math.Abs(l1) {
			t.Errorf("tiles %d/%d: loss %v, untiled %v", tc.cols, tc.attn, l2, l1)
		}
		for _, ts := range whole.l.tensors {
			for i := ts.off; i < ts.off+ts.n; i++ {
				if d := math.Abs(float64(g1[i] - g2[i])); d > 1e-5*(1+math.Abs(float64(g1[i]))) {
					t.Fatalf("tiles %d/%d: %s[%d] gradient %v, untiled %v", tc.cols, tc.attn, ts.name, i-ts.off, g2[i], g1[i])
				}
			}
		}
	}
}

// TestTransformerForwardMatchesReference: the tiled float32 logits equal
// the independent float64 GPT-2 forward pass's.
func TestTransformerForwardMatchesReference(t *testing.T) {
	m, err := NewModel(tinyConfig(5, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 11)
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]byte, 2*8)
	for i := range x {
		x[i] = byte(rng.IntN(Vocab))
	}
	got, err := m.Logits(context.Background(), tile.NewLocal(2), x, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := m.Tensors()
	ref := lmtest.NewReference(ts, 2, 16, 2, 8)
	for s := range 2 {
		want := ref.Logits(x[s*8 : (s+1)*8])
		for i, row := range want {
			for v, lw := range row {
				if g := float64(got[(s*8+i)*Vocab+v]); math.Abs(g-lw) > 1e-4*(1+math.Abs(lw)) {
					t.Fatalf("sequence %d position %d token %d: logit %v, reference %v", s, i, v, g, lw)
				}
			}
		}
	}
}

// TestTransformerGradientsFiniteDifferences checks the backward pass
// against central differences of the float64 reference loss, for several
// parameters of every tensor.
func TestTransformerGradientsFiniteDifferences(t *testing.T) {
	tr, err := NewTrainer(tinyConfig(5, 3), tinyOpt(), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(tr.Model, 13)
	w := randomWindows(rand.New(rand.NewPCG(4, 4)), 2, 8)
	loss, grad, err := tr.gradients(context.Background(), tile.NewLocal(2), w)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := tr.Tensors()
	ref := lmtest.NewReference(ts, 2, 16, 2, 8)
	if want := ref.Loss(w, 2, 8); math.Abs(loss-want) > 1e-5*want {
		t.Fatalf("loss %v, reference %v", loss, want)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	const h = 1e-4
	checked := 0
	for _, info := range tr.l.tensors {
		for range 4 {
			i := rng.IntN(info.n)
			v := ref.W[info.name]
			orig := v[i]
			v[i] = orig + h
			up := ref.Loss(w, 2, 8)
			v[i] = orig - h
			down := ref.Loss(w, 2, 8)
			v[i] = orig
			fd := (up - down) / (2 * h)
			g := float64(grad[info.off+i])
			if math.Abs(g-fd) > 1e-3*math.Abs(fd)+2e-5 {
				t.Errorf("%s[%d]: backprop %v, finite difference %v", info.name, i, g, fd)
			}
			checked++
		}
	}
	t.Logf("%d gradients checked against finite differences", checked)
}

// TestTransformerLearnsCopyTask: with attention, a model can continue a
// random sequence that repeats with period 5 from its second period on;
// no bigram statistics can, so a loss near zero shows that attention
// and its gradients work, not only the embeddings.
func TestTransformerLearnsCopyTask(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about 10 s; runs in the full (non -short) pass")
	}
	cfg := Config{Layers: 1, Embd: 32, Heads: 2, Context: 16, TileCols: 16, AttnBatch: 4}
	opt := OptConfig{LR: 1e-2, MinLR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WarmupSteps: 20, MaxSteps: 800, GradClip: 1}
	tr, err := NewTrainer(cfg, opt, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batch := func() []byte {
		w := make([]byte, 16*17)
		for s := range 16 {
			var period [5]byte
			for i := range period {
				period[i] = byte('a' + rng.IntN(20))
			}
			for i := range 17 {
				w[s*17+i] = period[i%5]
			}
		}
		return w
	}
	exec := tile.NewLocal(2)
	for range 800 {
		if _, err := tr.Step(context.Background(), exec, batch()); err != nil {
			t.Fatal(err)
		}
	}
	// Score only the predictable targets: positions 5 on (the 6th byte on).
	w := batch()
	skip := make([]int, 16)
	for i := range skip {
		skip[i] = 4
	}
	nll, n, err := tr.Loss(context.Background(), exec, w, 16, 16, skip)
	if err != nil {
		t.Fatal(err)
	}
	if loss := nll / float64(n); loss > 0.1 {
		t.Fatalf("copy task loss %.3f nats after 800 steps, want < 0.1 (chance: %.2f)", loss, math.Log(20))
	}
}

// TestTransformerStopsOnDivergence: a step whose gradient is not finite
// fails with ErrDiverged and leaves the weights as they were.
func TestTransformerStopsOnDivergence(t *testing.T) {
	tr, err := NewTrainer(tinyConfig(5, 3), tinyOpt(), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr.params[tr.l.wpe] = float32(math.Inf(1))
	before := append([]float32(nil), tr.params...)
	w := randomWindows(rand.New(rand.NewPCG(4, 4)), 2, 8)
	_, err = tr.Step(context.Background(), tile.NewLocal(1), w)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("step with an infinite weight: %v", err)
	}
	if tr.StepsDone() != 0 {
		t.Errorf("the failed step counted")
	}
	for i := range before {
		if before[i] != tr.params[i] && !(math.IsNaN(float64(before[i])) && math.IsNaN(float64(tr.params[i]))) {
			t.Fatalf("parameter %d changed from %v to %v", i, before[i], tr.params[i])
		}
	}
}

// TestTransformerLossMatchesStep: scoring windows with Loss gives the
// loss a training step on the same windows reports, whatever the number
// of windows per pass.
func TestTransformerLossMatchesStep(t *testing.T) {
	tr, err := NewTrainer(tinyConfig(5, 3), tinyOpt(), 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(tr.Model, 3)
	w := randomWindows(rand.New(rand.NewPCG(6, 6)), 4, 8)
	exec := tile.NewLocal(2)
	var nll float64
	var n int
	for _, part := range [][2]int{{0, 1}, {1, 4}} { // one window, then three
		l, c, err := tr.Loss(context.Background(), exec, w[part[0]*9:part[1]*9], part[1]-part[0], 8, nil)
		if err != nil {
			t.Fatal(err)
		}
		nll += l
		n += c
	}
	loss, err := tr.Step(context.Background(), exec, w)
	if err != nil {
		t.Fatal(err)
	}
	if n != 32 || math.Abs(nll/float64(n)-loss) > 1e-6*loss {
		t.Fatalf("Loss scored %d bytes at %v nats each; the step's loss was %v", n, nll/float64(n), loss)
	}
}
