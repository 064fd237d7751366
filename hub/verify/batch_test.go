package verify_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

var batchShapes = []kernel.Shape{
	{Batch: 2, M: 1, K: 1, N: 1},
	{Batch: 3, M: 5, K: 7, N: 9},
	{Batch: 8, M: 16, K: 8, N: 16},
	{Batch: 4, M: 33, K: 65, N: 17},
}

// computeBatch is compute (one summation order) applied to every product
// of a batch.
func computeBatch(op kernel.Op, sh kernel.Shape, a, b []float32, dot func(int, func(int) float32) float32, fma bool) []float32 {
	one := sh.Single()
	c := make([]float32, 0, sh.CLen())
	for z := range sh.Count() {
		c = append(c, compute(op, one, a[z*one.ALen():(z+1)*one.ALen()], b[z*one.BLen():(z+1)*one.BLen()], dot, fma)...)
	}
	return c
}

// TestBatchedHonest checks that honest batched results summed in every
// order pass Freivalds, agree with each other and with the exact product.
func TestBatchedHonest(t *testing.T) {
	var s verify.Scratch
	for _, op := range kernel.Ops {
		for _, sh := range batchShapes {
			t.Run(fmt.Sprintf("%v/%v", op, sh), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(sh.K), uint64(op)))
				a, b := operands(op, sh, rng, dists[2].gen) // wide range: the hardest for the bounds
				results := map[string][]float32{"FMA": computeBatch(op, sh, a, b, nil, true)}
				for _, o := range orders {
					results[o.name] = computeBatch(op, sh, a, b, o.dot, false)
				}
				ex, sq, err := verify.Exact(op, sh, a, b)
				if err != nil {
					t.Fatal(err)
				}
				rows, cols := verify.Norms(op, sh, a, b)
				ref := results["FMA"]
				for name, c := range results {
					for seed := range uint64(4) {
						if err := s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(seed, 7))); err != nil {
							t.Fatalf("%s, seed %d: honest result refused: %v", name, seed, err)
						}
					}
					if err := verify.Agree(sh, rows, cols, ref, c); err != nil {
						t.Errorf("%s: disagrees with FMA: %v", name, err)
					}
					if err := verify.Judge(sh, ex, sq, c); err != nil {
						t.Errorf("%s: judged wrong: %v", name, err)
					}
				}
			})
		}
	}
}

// TestBatchedOneWrongElement changes one element of one product of an
// honest batched result, in the first, a middle and the last product:
// Freivalds, Agree and Judge each catch it and name that product and
// element.
func TestBatchedOneWrongElement(t *testing.T) {
	var s verify.Scratch
	for _, op := range kernel.Ops {
		for _, sh := range batchShapes {
			rng := rand.New(rand.NewPCG(3, uint64(sh.M)))
			a, b, good := honest(op, sh, rng)
			ex, sq, _ := verify.Exact(op, sh, a, b)
			rows, cols := verify.Norms(op, sh, a, b)
			for _, z := range []int{0, sh.Count() / 2, sh.Count() - 1} {
				t.Run(fmt.Sprintf("%v/%v/product%d", op, sh, z), func(t *testing.T) {
					i, j := rng.IntN(sh.M), rng.IntN(sh.N)
					c := append([]float32(nil), good...)
					idx := (z*sh.M+i)*sh.N + j
					c[idx] += 0.5 // operands are in [-1, 1): far beyond rounding
					for seed := range uint64(20) {
						err := s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(seed, 11)))
						var mm *verify.Mismatch
						if !errors.As(err, &mm) || mm.Borderline {
							t.Fatalf("seed %d: Freivalds = %v, want a failure", seed, err)
						}
						if mm.Product != z || mm.Row != i {
							t.Fatalf("seed %d: mismatch in product %d row %d, the wrong element is in product %d row %d", seed, mm.Product, mm.Row, z, i)
						}
					}
					for name, err := range map[string]error{
						"Agree": verify.Agree(sh, rows, cols, good, c),
						"Judge": verify.Judge(sh, ex, sq, c),
					} {
						var d *verify.Disagreement
						if !errors.As(err, &d) || d.Product != z || d.Row != i || d.Col != j {
							t.Errorf("%s = %v, want product %d element (%d, %d)", name, err, z, i, j)
						}
					}
				})
			}
		}
	}
}

// honest returns operands uniform in [-1, 1) and their product.
func honest(op kernel.Op, sh kernel.Shape, rng *rand.Rand) (a, b, c []float32) {
	a, b = operands(op, sh, rng, dists[0].gen)
	c = make([]float32, sh.CLen())
	kernel.Reference(op, sh, a, b, c)
	return a, b, c
}

// TestBatchedNonFinite puts a NaN in the last product only.
func TestBatchedNonFinite(t *testing.T) {
	var s verify.Scratch
	sh := kernel.Shape{Batch: 5, M: 4, K: 6, N: 3}
	op := kernel.MatMulNT
	rng := rand.New(rand.NewPCG(5, 5))
	a, b, c := honest(op, sh, rng)
	c[len(c)-1] = float32(math.NaN())
	var mm *verify.Mismatch
	if err := s.Freivalds(op, sh, a, b, c, rng); !errors.As(err, &mm) || !mm.NonFinite || mm.Product != 4 {
		t.Fatalf("Freivalds = %v, want NaN found in product 4", err)
	}
}

// TestBatchedBlindingPerProduct blinds a batch of equal products: every
// product gets its own permutation and scales (a blinding that reused
// product 0's for all would let copies of product 0 through).
func TestBatchedBlindingPerProduct(t *testing.T) {
	sh := kernel.Shape{Batch: 4, M: 9, K: 17, N: 11}
	one := sh.Single()
	for _, op := range kernel.Ops {
		rng := rand.New(rand.NewPCG(8, uint64(op)))
		a1, b1 := operands(op, one, rng, dists[0].gen)
		var a, b []float32
		for range sh.Count() {
			a, b = append(a, a1...), append(b, b1...)
		}
		a2, b2 := make([]float32, len(a)), make([]float32, len(b))
		verify.NewBlinding(sh, rng).Apply(op, sh, a, b, a2, b2)
		na := one.ALen()
		for z := 1; z < sh.Count(); z++ {
			if fmt.Sprint(a2[:na]) == fmt.Sprint(a2[z*na:(z+1)*na]) {
				t.Errorf("%v: products 0 and %d were blinded alike", op, z)
			}
		}
	}
}

// TestBatchedNoiseIsNotPassed perturbs one product of a batch of
// attention-shaped products by relative noise 1e-3: the check must not
// pass it.
func TestBatchedNoiseIsNotPassed(t *testing.T) {
	var s verify.Scratch
	sh := kernel.Shape{Batch: 8, M: 64, K: 256, N: 64}
	op := kernel.MatMulNN
	rng := rand.New(rand.NewPCG(12, 13))
	a, b, c := honest(op, sh, rng)
	nc := sh.Single().CLen()
	passed := 0
	for trial := range 30 {
		noisy := append([]float32(nil), c...)
		z := trial % sh.Count()
		for i := z * nc; i < (z+1)*nc; i++ {
			noisy[i] *= 1 + 1e-3*(2*rng.Float32()-1)
		}
		if s.Freivalds(op, sh, a, b, noisy, rand.New(rand.NewPCG(uint64(trial), 4))) == nil {
			passed++
		}
	}
	if passed > 0 {
		t.Errorf("%d of 30 batches with one noisy product passed", passed)
	}
}
