package verify_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestBlindingRoundTrip computes blinded products and checks that
// unblinding gives op(A)·op(B) within rounding (the permuted sum order
// differs) and that the result passes the check against the original
// operands.
func TestBlindingRoundTrip(t *testing.T) {
	var s verify.Scratch
	for _, op := range kernel.Ops {
		for _, sh := range []kernel.Shape{{M: 1, K: 1, N: 1}, {M: 7, K: 13, N: 5}, {M: 64, K: 200, N: 33}, {Batch: 4, M: 9, K: 17, N: 11}} {
			t.Run(fmt.Sprintf("%v/%v", op, sh), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(sh.K)))
				a, b := operands(op, sh, rng, dists[0].gen)
				want := make([]float32, sh.CLen())
				kernel.Reference(op, sh, a, b, want)
				bl := verify.NewBlinding(sh, rng)
				a2, b2 := make([]float32, len(a)), make([]float32, len(b))
				bl.Apply(op, sh, a, b, a2, b2)
				got := make([]float32, sh.CLen())
				kernel.Reference(op, sh, a2, b2, got)
				bl.Unblind(sh, got)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("element %d: unblinded %v, want %v", i, got[i], want[i])
					}
				}
				if err := s.Freivalds(op, sh, a, b, got, rng); err != nil {
					t.Errorf("unblinded honest result refused: %v", err)
				}
			})
		}
	}
}

// TestBlindedCopiesFail gives two contributors the same task with
// different blindings: the second forwarding the first's output is caught.
func TestBlindedCopiesFail(t *testing.T) {
	for _, sh := range []kernel.Shape{{M: 32, K: 64, N: 16}, {Batch: 3, M: 8, K: 16, N: 5}} {
		blindedCopiesFail(t, sh)
	}
}

func blindedCopiesFail(t *testing.T, sh kernel.Shape) {
	var s verify.Scratch
	for _, op := range kernel.Ops {
		rng := rand.New(rand.NewPCG(2, uint64(op)))
		a, b := operands(op, sh, rng, dists[0].gen)
		first, second := verify.NewBlinding(sh, rng), verify.NewBlinding(sh, rng)
		a2, b2 := make([]float32, len(a)), make([]float32, len(b))
		first.Apply(op, sh, a, b, a2, b2)
		out := make([]float32, sh.CLen())
		kernel.Reference(op, sh, a2, b2, out)
		copied := append([]float32(nil), out...)
		first.Unblind(sh, out)
		if err := s.Freivalds(op, sh, a, b, out, rng); err != nil {
			t.Fatalf("%v %v: honest blinded result refused: %v", op, sh, err)
		}
		second.Unblind(sh, copied) // the colluder's copy, judged as its own
		if err := s.Freivalds(op, sh, a, b, copied, rng); err == nil {
			t.Errorf("%v %v: a copied result passed under another blinding", op, sh)
		}
	}
}
