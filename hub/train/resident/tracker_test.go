package resident

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// worker is what a contributor holding the matrix does: the products with
// the reference kernels and the update with kernel.MomentumStep, all in
// float32.
type worker struct {
	k, n    int
	w, v, g []float32
	lr, mu  float32
}

func newWorker(k, n int, lr, mu float32, rng *rand.Rand) *worker {
	wk := &worker{k: k, n: n, w: make([]float32, k*n), v: make([]float32, k*n), g: make([]float32, k*n), lr: lr, mu: mu}
	std := math.Sqrt(2 / float64(k))
	for i := range wk.w {
		wk.w[i] = float32(rng.NormFloat64() * std)
	}
	return wk
}

func (wk *worker) update(t *testing.T, x, dy []float32, m int, lr float32) {
	t.Helper()
	if err := kernel.Reference(kernel.MatMulTN, kernel.Shape{M: wk.k, K: m, N: wk.n}, x, dy, wk.g); err != nil {
		t.Fatal(err)
	}
	if err := kernel.MomentumStep(wk.w, wk.v, wk.g, lr, wk.mu); err != nil {
		t.Fatal(err)
	}
}

func (wk *worker) forward(t *testing.T, x []float32, m int) []float32 {
	t.Helper()
	c := make([]float32, m*wk.n)
	if err := kernel.Reference(kernel.MatMulNN, kernel.Shape{M: m, K: wk.k, N: wk.n}, x, wk.w, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (wk *worker) inputGrad(t *testing.T, dy []float32, m int) []float32 {
	t.Helper()
	c := make([]float32, m*wk.k)
	if err := kernel.Reference(kernel.MatMulNT, kernel.Shape{M: m, K: wk.n, N: wk.k}, dy, wk.w, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// batch draws a step's data shaped like a hidden layer's: X non-negative
// and sparse (after a ReLU), dY small and of both signs, as a mean loss's
// gradient is.
func batch(rng *rand.Rand, m, k, n int) (x, dy []float32) {
	x, dy = make([]float32, m*k), make([]float32, m*n)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = float32(rng.ExpFloat64())
		}
	}
	for i := range dy {
		dy[i] = float32(rng.NormFloat64() / float64(m))
	}
	return x, dy
}

// honestRun starts a worker and its tracker and runs n honest updates;
// it returns the last update's data.
func honestRun(t *testing.T, rng *rand.Rand, n int) (wk *worker, tr *Tracker, x, dy []float32) {
	t.Helper()
	wk = newWorker(testK, testN, testLR, testMu, rng)
	tr, err := New(wk.w, wk.v, testK, testN, testLR, testMu, rng)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		x, dy = batch(rng, testM, testK, testN)
		wk.update(t, x, dy, testM, wk.lr)
		if err := tr.Update(x, dy, testM); err != nil {
			t.Fatal(err)
		}
	}
	return wk, tr, x, dy
}

const (
	testM, testK, testN = 128, 256, 64
	testLR, testMu      = 0.05, 0.9
)

// TestHonestWorkerPasses: a worker that applies every update checks out on
// every product and on the state it hands back, through 60 steps and a
// re-anchoring after 40.
func TestHonestWorkerPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	wk := newWorker(testK, testN, testLR, testMu, rng)
	tr, err := New(wk.w, wk.v, testK, testN, testLR, testMu, rng)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 60 {
		x, dy := batch(rng, testM, testK, testN)
		if err := tr.CheckForward(x, wk.forward(t, x, testM), testM); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if err := tr.CheckInputGrad(dy, wk.inputGrad(t, dy, testM), testM); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		wk.update(t, x, dy, testM, wk.lr)
		if err := tr.Update(x, dy, testM); err != nil {
			t.Fatal(err)
		}
		if step == 39 {
			if err := tr.CheckState(wk.w, wk.v); err != nil {
				t.Fatalf("after %d steps: %v", tr.Steps(), err)
			}
			if err := tr.Anchor(wk.w, wk.v, rng); err != nil || tr.Steps() != 0 {
				t.Fatalf("anchor: %v, %d steps", err, tr.Steps())
			}
		}
	}
	if err := tr.CheckState(wk.w, wk.v); err != nil {
		t.Fatalf("after %d steps since the anchor: %v", tr.Steps(), err)
	}
}

// TestCheatingWorkerIsCaught: each way of not applying the update as sent
// fails the next product checked, or the state handed back.
func TestCheatingWorkerIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cheat func(t *testing.T, wk *worker, x, dy, prevX, prevDY []float32)
	}{
		{"Skipped", func(*testing.T, *worker, []float32, []float32, []float32, []float32) {}},
		{"AppliedTwice", func(t *testing.T, wk *worker, x, dy, _, _ []float32) {
			wk.update(t, x, dy, testM, wk.lr)
			wk.update(t, x, dy, testM, wk.lr)
		}},
		{"StaleData", func(t *testing.T, wk *worker, _, _, px, pdy []float32) { wk.update(t, px, pdy, testM, wk.lr) }},
		{"HalfRate", func(t *testing.T, wk *worker, x, dy, _, _ []float32) { wk.update(t, x, dy, testM, wk.lr/2) }},
		{"OneWeightOffByOnePercent", func(t *testing.T, wk *worker, x, dy, _, _ []float32) {
			wk.update(t, x, dy, testM, wk.lr)
			wk.w[7*testN+3] *= 1.01
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			// Honest steps first, so that the tolerance has drift in it.
			wk, tr, px, pdy := honestRun(t, rng, 10)
			x, dy := batch(rng, testM, testK, testN)
			tc.cheat(t, wk, x, dy, px, pdy)
			if err := tr.Update(x, dy, testM); err != nil {
				t.Fatal(err)
			}
			nx, ndy := batch(rng, testM, testK, testN)
			var mm *Mismatch
			errF := tr.CheckForward(nx, wk.forward(t, nx, testM), testM)
			errB := tr.CheckInputGrad(ndy, wk.inputGrad(t, ndy, testM), testM)
			errS := tr.CheckState(wk.w, wk.v)
			for _, e := range []error{errF, errB, errS} {
				if !errors.As(e, &mm) {
					t.Errorf("cheat not caught: forward %v; input gradient %v; state %v", errF, errB, errS)
					return
				}
			}
			t.Logf("caught: %v", errF)
		})
	}
}

// TestTamperedResultIsCaught: one element of a product changed by a
// thousandth of its row's scale fails, and NaN is named as such.
func TestTamperedResultIsCaught(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	wk, tr, _, _ := honestRun(t, rng, 20)
	x, _ := batch(rng, testM, testK, testN)
	c := wk.forward(t, x, testM)
	var scale float64
	for _, e := range c[5*testN : 6*testN] {
		scale = max(scale, math.Abs(float64(e)))
	}
	c[5*testN+9] += float32(1e-3 * scale)
	var mm *Mismatch
	if err := tr.CheckForward(x, c, testM); !errors.As(err, &mm) || mm.Index != 5 {
		t.Errorf("element off by 1e-3 of its row's largest: %v", err)
	}
	c[5*testN+9] = float32(math.NaN())
	if err := tr.CheckForward(x, c, testM); !errors.As(err, &mm) || !mm.NonFinite {
		t.Errorf("NaN in the result: %v", err)
	}
}

// TestBadInput: sizes that do not fit, and rates out of range, are errors.
func TestBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	w := make([]float32, 6)
	if _, err := New(w, w, 2, 3, 0.1, 0.9, rng); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		k, n   int
		lr, mu float32
	}{{"Size", 3, 3, 0.1, 0.9}, {"ZeroRate", 2, 3, 0, 0.9}, {"MomentumOne", 2, 3, 0.1, 1}, {"NaNRate", 2, 3, float32(math.NaN()), 0.5}} {
		if _, err := New(w, w, tc.k, tc.n, tc.lr, tc.mu, rng); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	tr, _ := New(w, w, 2, 3, 0.1, 0.9, rng)
	if err := tr.Update(make([]float32, 4), make([]float32, 5), 2); err == nil {
		t.Error("update with mismatched sizes: no error")
	}
	if err := tr.Update([]float32{1, float32(math.Inf(1))}, make([]float32, 3), 1); err == nil {
		t.Error("update with Inf: no error")
	}
	if err := tr.CheckForward(make([]float32, 2), make([]float32, 2), 1); err == nil {
		t.Error("forward check with mismatched sizes: no error")
	}
	if err := tr.CheckState(w[:5], w); err == nil {
		t.Error("state of the wrong size: no error")
	}
}

// TestClaimOnlyTightens: norms reported with the update bring the bounds
// to within 2.01 of the true norms, and honest products still pass; a
// report too large, NaN or negative leaves the bounds as they were.
func TestClaimOnlyTightens(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	wk, tr, _, _ := honestRun(t, rng, 20)
	before := tr.Looseness(wk.w)
	sq := kernel.SquaredNorms(nil, wk.w, testK, testN)
	rows, cols := sq[:testK], sq[testK:]
	big := func(v []float32, x float32) []float32 {
		out := make([]float32, len(v))
		for i := range out {
			out[i] = x
		}
		return out
	}
	for _, bad := range []float32{1e30, float32(math.NaN()), -1, float32(math.Inf(1))} {
		if err := tr.Claim(big(rows, bad), big(cols, bad)); err != nil {
			t.Fatal(err)
		}
		if got := tr.Looseness(wk.w); got != before {
			t.Fatalf("claim of %v moved the bounds from %.3f× to %.3f×", bad, before, got)
		}
	}
	if err := tr.Claim(rows, cols); err != nil {
		t.Fatal(err)
	}
	after := tr.Looseness(wk.w)
	t.Logf("norm bounds after 20 steps: %.1f× the true norms, %.2f× with the norms claimed", before, after)
	if after > 2.01 || after >= before {
		t.Errorf("claimed norms left the bounds at %.2f× (from %.2f×)", after, before)
	}
	x, dy := batch(rng, testM, testK, testN)
	if err := tr.CheckForward(x, wk.forward(t, x, testM), testM); err != nil {
		t.Errorf("honest product after the claim: %v", err)
	}
	if err := tr.CheckInputGrad(dy, wk.inputGrad(t, dy, testM), testM); err != nil {
		t.Errorf("honest input gradient after the claim: %v", err)
	}
	if err := tr.Claim(rows[1:], cols); err == nil {
		t.Error("claim of the wrong size: no error")
	}
}
