// Package verify checks contributors' results on the hub.
//
// Freivalds checks a claimed product C = op(A)·op(B) in O(n²) instead of
// recomputing it in O(n³): for a random vector r it compares C·r with
// op(A)·(op(B)·r). A wrong C passes only if its error happens to be
// orthogonal to r, which a continuous random r makes vanishingly unlikely.
//
// Honest results from different backends differ by float32 rounding. Each
// row of the check is judged against two tolerances (RATIONALE.md has the
// derivation):
//
//   - the worst case of any summation order,
//     γ_K · Σ_j |r_j| Σ_k |A_ik||B_kj| with γ_K = K·u/(1−K·u), u = 2⁻²⁴:
//     a row off by more is certainly wrong (Fail);
//   - Lambda standard deviations of the rounding error of a sum taken in
//     random order (Variance): a row within it passes (Pass).
//
// A row between the two is Borderline: the hub settles it by computing the
// exact product (Judge). The second tolerance is what lets a check see
// results computed in lower precision (TF32, bfloat16) or perturbed by
// small noise. Blinding (blind.go) permutes the inner dimension of every
// assignment, which makes the summation order as random as the model
// assumes.
//
// A batched shape (kernel.Shape.Batch) is checked product by product, each
// with its own random vector, so a wrong element in any product of the
// batch is caught as surely as in a single product; Norms, Agree, Judge and
// Blinding likewise treat every product of a batch on its own.
//
// The hub side is computed in float64, whose own error is negligible next
// to both bounds. The entries of r are drawn with |r_j| in [1, 2], so a
// single wrong element is caught whenever it is off by more than its row's
// tolerance, not merely with high probability.
package verify

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// UnitRoundoff is u for float32 (round to nearest).
const UnitRoundoff = 1.0 / (1 << 24)

// Slack multiplies the rigorous bound: results within Slack·γ_K pass. The
// bound is already worst case; the factor only absorbs the hub's own float64
// rounding and flushed subnormals.
const Slack = 2

// Lambda is the number of standard deviations of honest rounding error a
// result may be off. It is generous on purpose: the model idealizes the
// rounding errors, and a particular summation order can have larger
// partial sums than the average order (see RATIONALE.md).
const Lambda = 16

// Variance is the variance of the rounding error of a float32 sum of K
// products x_1..x_K taken in random order, whose exact total is c and
// whose sum of squared terms is sq = Σ x_t²: each product and each partial
// sum s_t is rounded with a relative error uniform in [−u, u] (variance
// u²/3), and over random orders E[Σ_t s_t²] = K·(c²/3 + sq/6).
func Variance(k int, c2, sq float64) float64 {
	return UnitRoundoff * UnitRoundoff / 3 * (float64(k)*(c2/3+sq/6) + sq)
}

// Mismatch describes a result that did not pass, in words a contributor
// can act on. Borderline mismatches exceed only the probabilistic bound.
type Mismatch struct {
	// Product is the index of the product in a batch (0 when unbatched).
	Product    int
	Row        int
	Diff, Tol  float64
	NonFinite  bool
	Borderline bool
	batched    bool
}

func (m *Mismatch) Error() string {
	row := where(m.batched, m.Product, "row %d", m.Row)
	switch {
	case m.NonFinite:
		return fmt.Sprintf("result %s contains NaN or Inf", row)
	case m.Borderline:
		return fmt.Sprintf("result is borderline in the Freivalds check: %s is off by %.3g, more than the expected rounding %.3g", row, m.Diff, m.Tol)
	}
	return fmt.Sprintf("result fails the Freivalds check: %s is off by %.3g, more than the float32 rounding bound %.3g", row, m.Diff, m.Tol)
}

// where formats a position in a result, naming the product of a batch.
func where(batched bool, product int, format string, args ...any) string {
	s := fmt.Sprintf(format, args...)
	if batched {
		s += fmt.Sprintf(" of product %d", product)
	}
	return s
}

// Scratch holds the check's work vectors so a caller can reuse them across
// tasks. The zero value is ready to use; a Scratch is not safe for
// concurrent use.
type Scratch struct {
	sk sketch
}

// sketch is what a check knows of op(B): a random vector r (length N),
// br = op(B)·r and v = (op(B)∘op(B))·(r∘r) (length K), and, computed when
// a row first needs the rigorous bound, absBr = |op(B)|·|r|.
type sketch struct {
	r, br, v, absBr []float64
}

func grow(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	v = v[:n]
	clear(v)
	return v
}

// Freivalds checks c = op(a)·op(b) with one random vector drawn from rng
// per product (one for an unbatched shape). It returns nil when the result
// passes, a *Mismatch when it fails or is borderline (Mismatch.Borderline),
// or another error when the operands do not match the shape. A product
// that fails decides over one that is only borderline.
//
// The common case, an honest result, costs one pass over B, one over A and
// one over C. The rigorous bound is only computed for a row that misses
// the statistical one.
func (s *Scratch) Freivalds(op kernel.Op, sh kernel.Shape, a, b, c []float32, rng *rand.Rand) error {
	if err := kernel.Check(op, sh, a, b, c); err != nil {
		return err
	}
	one := sh.Single()
	na, nb, nc := one.ALen(), one.BLen(), one.CLen()
	var borderline *Mismatch
	for z := range sh.Count() {
		bz := b[z*nb : (z+1)*nb]
		s.sk.draw(op, one, bz, rng)
		mm := s.sk.check(op, one, a[z*na:(z+1)*na], bz, c[z*nc:(z+1)*nc])
		if mm == nil {
			continue
		}
		mm.Product, mm.batched = z, sh.Count() > 1
		if !mm.Borderline {
			return mm
		}
		if borderline == nil {
			borderline = mm
		}
	}
	if borderline != nil {
		return borderline
	}
	return nil
}

// draw picks a new random vector and computes br and v from b (sh
// unbatched).
func (k *sketch) draw(op kernel.Op, sh kernel.Shape, b []float32, rng *rand.Rand) {
	K, N := sh.K, sh.N
	k.r = grow(k.r, N)
	k.absBr = k.absBr[:0] // absB computes it when a check first needs it
	RandomVector(k.r, rng)

	// br = op(B)·r and v = (op(B)∘op(B))·(r∘r), both length K.
	k.br, k.v = grow(k.br, K), grow(k.v, K)
	if op == kernel.MatMulNT { // B is N×K: accumulate rows into br
		for j := 0; j < N; j++ {
			rj := k.r[j]
			r2 := rj * rj
			br, v := k.br[:K], k.v[:K]
			for i, x := range b[j*K : j*K+K] {
				f := float64(x)
				br[i] += f * rj
				v[i] += f * f * r2
			}
		}
	} else { // B is K×N: dot each row with r
		r := k.r[:N]
		for i := 0; i < K; i++ {
			var sum, sq float64
			for j, x := range b[i*N : i*N+N] {
				f := float64(x) * r[j]
				sum += f
				sq += f * f
			}
			k.br[i], k.v[i] = sum, sq
		}
	}
}

// check compares every row of c (sh unbatched) with the sketch: nil when
// all pass, else the first failing row, or the first borderline one.
func (k *sketch) check(op kernel.Op, sh kernel.Shape, a, b, c []float32) *Mismatch {
	M, K, N := sh.M, sh.K, sh.N
	slack := SubnormalSlack * float64(N*K)
	var borderline *Mismatch
	for i := 0; i < M; i++ {
		// abr = (op(A)·br)_i and w = ((op(A)∘op(A))·v)_i, the squared terms
		// of row i weighted as the check weights its elements.
		var abr, w float64
		if op == kernel.MatMulTN { // A is K×M: column i
			for t := 0; t < K; t++ {
				f := float64(a[t*M+i])
				abr += f * k.br[t]
				w += f * f * k.v[t]
			}
		} else {
			br, v := k.br[:K], k.v[:K]
			for t, x := range a[i*K : i*K+K] {
				f := float64(x)
				abr += f * br[t]
				w += f * f * v[t]
			}
		}
		var cr, c2 float64 // Σ_j c_ij r_j and Σ_j c_ij² r_j²
		r := k.r[:N]
		for j, x := range c[i*N : i*N+N] {
			f := float64(x) * r[j]
			cr += f
			c2 += f * f
		}
		if math.IsNaN(c2) || math.IsInf(c2, 0) {
			return &Mismatch{Row: i, NonFinite: true}
		}
		diff := math.Abs(cr - abr)
		// The row's error is Σ_j r_j e_ij with independent e_ij, so its
		// variance is Σ_j r_j² Var(e_ij), which Variance gives in one call
		// from the r²-weighted sums. The claimed c enters only through
		// c², and scaling c up scales the error it must explain alike.
		prob := Lambda*math.Sqrt(Variance(K, c2, w)) + slack
		if diff <= prob {
			continue
		}
		rigorous := Slack*gammaK(K)*k.rowBound(op, sh, a, b, i) + slack
		if !(diff <= rigorous) { // also catches NaN
			if math.IsNaN(cr) || math.IsInf(cr, 0) {
				return &Mismatch{Row: i, NonFinite: true}
			}
			return &Mismatch{Row: i, Diff: diff, Tol: rigorous}
		}
		if borderline == nil && prob < rigorous {
			borderline = &Mismatch{Row: i, Diff: diff, Tol: prob, Borderline: true}
		}
	}
	return borderline
}

// absB computes absBr = |op(B)|·|r| unless it is already there.
func (k *sketch) absB(op kernel.Op, sh kernel.Shape, b []float32) {
	K, N := sh.K, sh.N
	if len(k.absBr) == K {
		return
	}
	k.absBr = grow(k.absBr, K)
	if op == kernel.MatMulNT {
		for j := 0; j < N; j++ {
			rj := math.Abs(k.r[j])
			for t, x := range b[j*K : j*K+K] {
				k.absBr[t] += math.Abs(float64(x)) * rj
			}
		}
		return
	}
	for t := 0; t < K; t++ {
		var sum float64
		for j, x := range b[t*N : t*N+N] {
			sum += math.Abs(float64(x)) * math.Abs(k.r[j])
		}
		k.absBr[t] = sum
	}
}

// rowBound returns Σ_j |r_j| Σ_k |A_ik||B_kj| for row i.
func (k *sketch) rowBound(op kernel.Op, sh kernel.Shape, a, b []float32, i int) float64 {
	M, K := sh.M, sh.K
	k.absB(op, sh, b)
	var bound float64
	for t := 0; t < K; t++ {
		var x float32
		if op == kernel.MatMulTN {
			x = a[t*M+i]
		} else {
			x = a[i*K+t]
		}
		bound += math.Abs(float64(x)) * k.absBr[t]
	}
	return bound
}

// SubnormalSlack covers products that a GPU flushes to zero (below the
// smallest normal float32, 2⁻¹²⁶).
const SubnormalSlack = 0x1p-126

// gammaK is the classic bound K·u/(1−K·u) on the relative rounding error of
// a K-term float32 dot product.
func gammaK(k int) float64 {
	ku := float64(k) * UnitRoundoff
	return ku / (1 - ku)
}

// RandomVector fills r with entries uniform on [-2, -1] ∪ [1, 2]:
// continuous, so that errors in several elements of a row cannot cancel
// except by chance, and bounded away from zero, so that one wrong element
// is always seen when it is off by more than its row's tolerance.
func RandomVector(r []float64, rng *rand.Rand) {
	for j := range r {
		v := 1 + rng.Float64()
		if rng.Uint64()&1 == 1 {
			v = -v
		}
		r[j] = v
	}
}
