package verify_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestFrozenMatchesFreivalds: a prepared check gives exactly Freivalds'
// verdict with the same random vector, for honest results and wrong ones
// (one element off, a row zeroed, noise at 1e-3, NaN), whatever the
// number of rows, for every op.
func TestFrozenMatchesFreivalds(t *testing.T) {
	corrupt := map[string]func(c []float32, n int, rng *rand.Rand){
		"honest":     func([]float32, int, *rand.Rand) {},
		"element+16": func(c []float32, _ int, rng *rand.Rand) { c[rng.IntN(len(c))] += 16 },
		"row-zeroed": func(c []float32, n int, rng *rand.Rand) { clear(c[:n]) },
		"noise-1e-3": func(c []float32, _ int, rng *rand.Rand) {
			for i := range c {
				c[i] *= 1 + 1e-3*(2*rng.Float32()-1)
			}
		},
		"nan": func(c []float32, _ int, rng *rand.Rand) { c[rng.IntN(len(c))] = float32(0) / zero },
	}
	var s verify.Scratch
	for _, op := range kernel.Ops {
		for _, kn := range [][2]int{{128, 64}, {512, 64}, {33, 9}} {
			for seed := range uint64(4) {
				rng := rand.New(rand.NewPCG(seed, uint64(kn[0])))
				_, b := operands(op, kernel.Shape{M: 1, K: kn[0], N: kn[1]}, rng, dists[0].gen)
				f, err := verify.NewFrozen(op, kernel.Shape{M: 1, K: kn[0], N: kn[1]}, b, rand.New(rand.NewPCG(seed, 5)))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range []int{1, 8, 16, 33} {
					sh := kernel.Shape{M: m, K: kn[0], N: kn[1]}
					a, _ := operands(op, sh, rng, dists[0].gen)
					good := make([]float32, sh.CLen())
					if err := kernel.Reference(op, sh, a, b, good); err != nil {
						t.Fatal(err)
					}
					for name, bad := range corrupt {
						t.Run(fmt.Sprintf("%v/%v/%d/%s", op, sh, seed, name), func(t *testing.T) {
							c := append([]float32(nil), good...)
							bad(c, sh.N, rng)
							got := f.Check(op, sh, a, b, c)
							want := s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(seed, 5)))
							if !reflect.DeepEqual(got, want) {
								t.Fatalf("frozen check %v, Freivalds with the same vector %v", got, want)
							}
							if (name == "honest") != (got == nil) {
								t.Fatalf("%s result: check says %v", name, got)
							}
						})
					}
				}
			}
		}
	}
}

var zero float32

// TestFrozenOneVectorCatchesEveryCheat: one prepared vector, used for
// many results each wrong in its own random way (as cheaters who do not
// know r send them), catches every one.
func TestFrozenOneVectorCatchesEveryCheat(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	op := kernel.MatMulNN
	sh := kernel.Shape{M: 16, K: 128, N: 64}
	a, b := operands(op, sh, rng, dists[0].gen)
	good := make([]float32, sh.CLen())
	kernel.Reference(op, sh, a, b, good)
	f, err := verify.NewFrozen(op, sh, b, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range verify.FrozenUses {
		c := append([]float32(nil), good...)
		switch i % 3 {
		case 0: // one element off by more than its row's rounding
			c[rng.IntN(len(c))] += 1
		case 1: // a whole row replaced by noise of the row's size
			r := rng.IntN(sh.M)
			for j := range sh.N {
				c[r*sh.N+j] = 2*rng.Float32() - 1
			}
		case 2: // small relative noise everywhere
			for j := range c {
				c[j] *= 1 + 1e-2*(2*rng.Float32()-1)
			}
		}
		if err := f.Check(op, sh, a, b, c); err == nil {
			t.Fatalf("cheat %d (kind %d) passed", i, i%3)
		}
		if !f.Use() {
			t.Fatalf("use %d refused, FrozenUses is %d", i+1, verify.FrozenUses)
		}
	}
	if f.Use() {
		t.Errorf("use %d allowed", verify.FrozenUses+1)
	}
	if err := f.Check(op, sh, a, b, good); err != nil {
		t.Errorf("honest result refused: %v", err)
	}
}

// TestFrozenRefusesWhatItWasNotMadeFor: batches, a B of the wrong size,
// and checks with another op or shape are errors, not verdicts.
func TestFrozenRefusesWhatItWasNotMadeFor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	sh := kernel.Shape{M: 4, K: 8, N: 6}
	a, b := operands(kernel.MatMulNN, sh, rng, dists[0].gen)
	if _, err := verify.NewFrozen(kernel.MatMulNN, kernel.Shape{Batch: 2, M: 4, K: 8, N: 6}, append(b, b...), rng); err == nil {
		t.Error("a batch was prepared")
	}
	if _, err := verify.NewFrozen(kernel.MatMulNN, sh, b[1:], rng); err == nil {
		t.Error("a short B was prepared")
	}
	f, err := verify.NewFrozen(kernel.MatMulNN, sh, b, rng)
	if err != nil {
		t.Fatal(err)
	}
	c := make([]float32, sh.CLen())
	kernel.Reference(kernel.MatMulNN, sh, a, b, c)
	var mm *verify.Mismatch
	for _, tc := range []struct {
		op kernel.Op
		sh kernel.Shape
	}{
		{kernel.MatMulNT, kernel.Shape{M: 4, K: 8, N: 6}},
		{kernel.MatMulNN, kernel.Shape{M: 4, K: 6, N: 8}},
		{kernel.MatMulNN, kernel.Shape{M: 3, K: 8, N: 6}}, // c has 4 rows
	} {
		if err := f.Check(tc.op, tc.sh, a, b, c); err == nil || errors.As(err, &mm) {
			t.Errorf("%v %v: %v, want an operand error", tc.op, tc.sh, err)
		}
	}
}
