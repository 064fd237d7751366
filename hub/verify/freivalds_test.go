package verify_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// operands returns random A and B for op and sh, with entries drawn by gen.
func operands(op kernel.Op, sh kernel.Shape, rng *rand.Rand, gen func(*rand.Rand) float32) (a, b []float32) {
	a, b = make([]float32, sh.ALen()), make([]float32, sh.BLen())
	for i := range a {
		a[i] = gen(rng)
	}
	for i := range b {
		b[i] = gen(rng)
	}
	return a, b
}

// Operand distributions.
var dists = []struct {
	name string
	gen  func(*rand.Rand) float32
}{
	{"Uniform", func(r *rand.Rand) float32 { return 2*r.Float32() - 1 }},
	{"Positive", func(r *rand.Rand) float32 { return r.Float32() }},
	// Magnitudes spread over 2^±20 make large cancellations, where the
	// rounding of different summation orders differs the most.
	{"WideRange", func(r *rand.Rand) float32 {
		return float32(math.Ldexp(2*r.Float64()-1, r.IntN(41)-20))
	}},
	{"Integers", func(r *rand.Rand) float32 { return float32(r.IntN(7) - 3) }},
}

// at returns accessors for op(A)[i,k] and op(B)[k,j].
func at(op kernel.Op, sh kernel.Shape, a, b []float32) (fa func(i, k int) float32, fb func(k, j int) float32) {
	M, K, N := sh.M, sh.K, sh.N
	fa = func(i, k int) float32 { return a[i*K+k] }
	if op == kernel.MatMulTN {
		fa = func(i, k int) float32 { return a[k*M+i] }
	}
	fb = func(k, j int) float32 { return b[k*N+j] }
	if op == kernel.MatMulNT {
		fb = func(k, j int) float32 { return b[j*K+k] }
	}
	return fa, fb
}

// orders emulate other backends: each computes one output element from
// its K products in its own summation order.
var orders = []struct {
	name string
	dot  func(K int, p func(k int) float32) float32
}{
	{"Float64ThenRound", func(K int, p func(int) float32) float32 {
		var s float64
		for k := range K {
			s += float64(p(k))
		}
		return float32(s)
	}},
	{"Reversed", func(K int, p func(int) float32) float32 {
		var s float32
		for k := K - 1; k >= 0; k-- {
			s += p(k)
		}
		return s
	}},
	{"Blocked16", func(K int, p func(int) float32) float32 {
		var s float32
		for k0 := 0; k0 < K; k0 += 16 {
			var part float32
			for k := k0; k < min(k0+16, K); k++ {
				part += p(k)
			}
			s += part
		}
		return s
	}},
	{"Strided4", func(K int, p func(int) float32) float32 { // 4 lanes, as a vec4 kernel
		var lane [4]float32
		for k := range K {
			lane[k%4] += p(k)
		}
		return (lane[0] + lane[1]) + (lane[2] + lane[3])
	}},
	{"Pairwise", func(K int, p func(int) float32) float32 {
		var tree func(lo, hi int) float32
		tree = func(lo, hi int) float32 {
			if hi-lo == 1 {
				return p(lo)
			}
			mid := (lo + hi) / 2
			return tree(lo, mid) + tree(mid, hi)
		}
		return tree(0, K)
	}},
}

// compute returns c = op(a)·op(b), each element summed by dot. The
// products are rounded to float32 first, as a GPU without FMA does; FMA
// computes the exact product and rounds once per step.
func compute(op kernel.Op, sh kernel.Shape, a, b []float32, dot func(int, func(int) float32) float32, fma bool) []float32 {
	fa, fb := at(op, sh, a, b)
	c := make([]float32, sh.CLen())
	for i := range sh.M {
		for j := range sh.N {
			if fma {
				var s float32
				for k := range sh.K {
					s = float32(math.FMA(float64(fa(i, k)), float64(fb(k, j)), float64(s)))
				}
				c[i*sh.N+j] = s
				continue
			}
			c[i*sh.N+j] = dot(sh.K, func(k int) float32 { return fa(i, k) * fb(k, j) })
		}
	}
	return c
}

var shapes = []kernel.Shape{
	{M: 1, K: 1, N: 1},
	{M: 1, K: 7, N: 1},
	{M: 3, K: 5, N: 7},
	{M: 7, K: 1, N: 3},
	{M: 17, K: 33, N: 9},
	{M: 64, K: 1, N: 64},
	{M: 65, K: 129, N: 31},
	{M: 2, K: 4099, N: 3},
}

func TestFreivaldsHonest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s verify.Scratch // reused across shapes, as the hub does
	for _, op := range kernel.Ops {
		for _, sh := range shapes {
			for _, d := range dists {
				a, b := operands(op, sh, rng, d.gen)
				results := map[string][]float32{}
				ref := make([]float32, sh.CLen())
				if err := kernel.Reference(op, sh, a, b, ref); err != nil {
					t.Fatal(err)
				}
				results["Reference"] = ref
				for _, o := range orders {
					results[o.name] = compute(op, sh, a, b, o.dot, false)
				}
				results["FMA"] = compute(op, sh, a, b, nil, true)
				for name, c := range results {
					t.Run(fmt.Sprintf("%v/%v/%s/%s", op, sh, d.name, name), func(t *testing.T) {
						for seed := range uint64(8) {
							if err := s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(seed, 99))); err != nil {
								t.Fatalf("seed %d: honest result refused: %v", seed, err)
							}
						}
					})
				}
			}
		}
	}
}

// TestFreivaldsWrong checks results that are wrong by far more than
// rounding. Each is checked with 50 random vectors; every one must catch
// it, except that a whole wrong row escapes when its errors happen to
// cancel against r (probability about tol/|error·r|, ~0.2% for the largest
// shape here), so one miss is allowed there.
func TestFreivaldsWrong(t *testing.T) {
	tests := []struct {
		name      string
		square    bool // needs M == N
		nonFinite bool
		maxMiss   int
		corrupt   func(c []float32, sh kernel.Shape, rng *rand.Rand)
	}{
		{"OneElementOffBy16", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			c[rng.IntN(len(c))] += 16
		}},
		{"OneElementSignFlipped", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			i := rng.IntN(len(c))
			c[i] = -c[i] + 16 // sign flip, kept away from zero
		}},
		{"RowZeroed", false, false, 1, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			i := rng.IntN(sh.M)
			clear(c[i*sh.N : i*sh.N+sh.N])
		}},
		{"AllZero", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) { clear(c) }},
		{"Random", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			for i := range c {
				c[i] = 2*rng.Float32() - 1
			}
		}},
		{"Negated", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			for i := range c {
				c[i] = -c[i]
			}
		}},
		{"Transposed", true, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			n := sh.N
			for i := range n {
				for j := i + 1; j < n; j++ {
					c[i*n+j], c[j*n+i] = c[j*n+i], c[i*n+j]
				}
			}
		}},
		{"RowsSwapped", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			n := sh.N
			for j := range n {
				c[j], c[n+j] = c[n+j], c[j]
			}
		}},
		{"HalfPrecision", false, false, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			for i := range c { // keep 8 mantissa bits, like bfloat16
				c[i] = math.Float32frombits(math.Float32bits(c[i]) &^ 0xffff)
			}
		}},
		{"NaN", false, true, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) { c[rng.IntN(len(c))] = float32(math.NaN()) }},
		{"Inf", false, true, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) { c[rng.IntN(len(c))] = float32(math.Inf(1)) }},
		{"MinusInf", false, true, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) { c[rng.IntN(len(c))] = float32(math.Inf(-1)) }},
		{"InfMinusInf", false, true, 0, func(c []float32, sh kernel.Shape, rng *rand.Rand) {
			c[0], c[1] = float32(math.Inf(1)), float32(math.Inf(-1))
		}},
	}
	var s verify.Scratch
	for _, op := range kernel.Ops {
		for _, sh := range []kernel.Shape{{M: 2, K: 3, N: 2}, {M: 17, K: 33, N: 9}, {M: 64, K: 64, N: 64}, {M: 33, K: 257, N: 33}} {
			for _, tc := range tests {
				if tc.square && sh.M != sh.N {
					continue
				}
				t.Run(fmt.Sprintf("%v/%v/%s", op, sh, tc.name), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(op), uint64(sh.M)))
					a, b := operands(op, sh, rng, dists[0].gen)
					good := make([]float32, sh.CLen())
					if err := kernel.Reference(op, sh, a, b, good); err != nil {
						t.Fatal(err)
					}
					c := append([]float32(nil), good...)
					tc.corrupt(c, sh, rng)
					missed := 0
					for seed := range uint64(50) {
						err := s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(seed, 7)))
						if err == nil && missed < tc.maxMiss {
							missed++
							continue
						}
						var mm *verify.Mismatch
						if !errors.As(err, &mm) {
							t.Fatalf("seed %d: Freivalds = %v, want a *Mismatch", seed, err)
						}
						if mm.NonFinite != tc.nonFinite {
							t.Fatalf("seed %d: NonFinite = %v, want %v (%v)", seed, mm.NonFinite, tc.nonFinite, mm)
						}
						if mm.Error() == "" || mm.Row < 0 || mm.Row >= sh.M {
							t.Fatalf("seed %d: mismatch %+v is not usable", seed, mm)
						}
					}
					// The scratch is clean afterwards: the honest result passes.
					if err := s.Freivalds(op, sh, a, b, good, rng); err != nil {
						t.Fatalf("honest result refused after a wrong one: %v", err)
					}
				})
			}
		}
	}
}

// TestFreivaldsDetectionRate checks that one random vector catches a single
// element off by delta every time once delta exceeds the row's rounding
// bound: the check compares |delta·r_j| with that bound, and |r_j| ≥ 1.
func TestFreivaldsDetectionRate(t *testing.T) {
	sh := kernel.Shape{M: 64, K: 64, N: 64}
	op := kernel.MatMulNN
	rng := rand.New(rand.NewPCG(5, 5))
	a, b := operands(op, sh, rng, dists[0].gen)
	good := make([]float32, sh.CLen())
	kernel.Reference(op, sh, a, b, good)
	var s verify.Scratch
	for _, tc := range []struct {
		delta   float32
		minRate float64
	}{
		{0.5, 1},
		{2, 1},
		{32, 1},
	} {
		const trials = 2000
		caught := 0
		for trial := range trials {
			c := append([]float32(nil), good...)
			c[rng.IntN(len(c))] += tc.delta
			if s.Freivalds(op, sh, a, b, c, rand.New(rand.NewPCG(uint64(trial), 1))) != nil {
				caught++
			}
		}
		rate := float64(caught) / trials
		t.Logf("64³, one element off by %g (elements are ~%.2f): caught %.2f%%", tc.delta, rms(good), 100*rate)
		if rate < tc.minRate {
			t.Errorf("one element off by %g caught %.3f of the time, want at least %.3f", tc.delta, rate, tc.minRate)
		}
	}
}

func rms(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s / float64(len(v)))
}

func TestFreivaldsBadOperands(t *testing.T) {
	sh := kernel.Shape{M: 3, K: 4, N: 5}
	a, b, c := make([]float32, sh.ALen()), make([]float32, sh.BLen()), make([]float32, sh.CLen())
	tests := []struct {
		name    string
		op      kernel.Op
		sh      kernel.Shape
		a, b, c []float32
		operand bool // want kernel.ErrOperand
	}{
		{"ErrShortA", kernel.MatMulNN, sh, a[1:], b, c, true},
		{"ErrLongB", kernel.MatMulNT, sh, a, append(b, 0), c, true},
		{"ErrShortC", kernel.MatMulTN, sh, a, b, c[:len(c)-1], true},
		{"ErrNilC", kernel.MatMulNN, sh, a, b, nil, true},
		{"ErrTransposedShape", kernel.MatMulNN, kernel.Shape{M: 5, K: 4, N: 3}, a, b, c, true},
		{"ErrUnknownOp", kernel.Op(0), sh, a, b, c, false},
		{"ErrZeroShape", kernel.MatMulNN, kernel.Shape{}, nil, nil, nil, false},
		{"ErrHugeShape", kernel.MatMulNN, kernel.Shape{M: kernel.MaxDim + 1, K: 1, N: 1}, a, b, c, false},
	}
	var s verify.Scratch
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Freivalds(tc.op, tc.sh, tc.a, tc.b, tc.c, rand.New(rand.NewPCG(1, 1)))
			if err == nil {
				t.Fatal("Freivalds accepted bad operands")
			}
			var mm *verify.Mismatch
			if errors.As(err, &mm) {
				t.Fatalf("bad operands reported as a wrong result: %v", err)
			}
			if tc.operand != errors.Is(err, kernel.ErrOperand) {
				t.Fatalf("errors.Is(%v, kernel.ErrOperand) = %v, want %v", err, !tc.operand, tc.operand)
			}
		})
	}
}

// BenchmarkFreivaldsVsMatmul times one check and reports it as a fraction
// of kernel.Reference on the same tile (goal at 256³: at most 0.03).
func BenchmarkFreivaldsVsMatmul(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		for _, op := range kernel.Ops {
			b.Run(fmt.Sprintf("%d/%v", n, op), func(b *testing.B) {
				sh := kernel.Shape{M: n, K: n, N: n}
				rng := rand.New(rand.NewPCG(1, 2))
				a, bb := operands(op, sh, rng, dists[0].gen)
				c := make([]float32, sh.CLen())
				// Time the reference outside the benchmark loop: the best
				// of a few runs (one when a run takes over 100 ms).
				ref := time.Duration(math.MaxInt64)
				for start := time.Now(); ref == math.MaxInt64 || time.Since(start) < 200*time.Millisecond; {
					t0 := time.Now()
					kernel.Reference(op, sh, a, bb, c)
					ref = min(ref, time.Since(t0))
					if ref > 100*time.Millisecond {
						break
					}
				}
				var s verify.Scratch
				if err := s.Freivalds(op, sh, a, bb, c, rng); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(4 * (sh.ALen() + sh.BLen() + sh.CLen())))
				b.ResetTimer()
				for range b.N {
					if err := s.Freivalds(op, sh, a, bb, c, rng); err != nil {
						b.Fatal(err)
					}
				}
				per := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(per/ref.Seconds(), "frac_of_matmul")
				b.ReportMetric(ref.Seconds()*1e3, "matmul_ms")
			})
		}
	}
}
