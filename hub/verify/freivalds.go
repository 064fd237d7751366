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

// unitRoundoff is u for float32 (round to nearest).
const unitRoundoff = 1.0 / (1 << 24)

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
	return unitRoundoff * unitRoundoff / 3 * (float64(k)*(c2/3+sq/6) + sq)
}

// Mismatch describes a result that did not pass, in words a contributor
// can act on. Borderline mismatches exceed only the probabilistic bound.
type Mismatch struct {
	Row        int
	Diff, Tol  float64
	NonFinite  bool
	Borderline bool
}

func (m *Mismatch) Error() string {
	switch {
	case m.NonFinite:
		return fmt.Sprintf("result row %d contains NaN or Inf", m.Row)
	case m.Borderline:
		return fmt.Sprintf("result is borderline in the Freivalds check: row %d is off by %.3g, more than the expected rounding %.3g", m.Row, m.Diff, m.Tol)
	}
	return fmt.Sprintf("result fails the Freivalds check: row %d is off by %.3g, more than the float32 rounding bound %.3g", m.Row, m.Diff, m.Tol)
}

// Scratch holds the check's work vectors so a caller can reuse them across
// tasks. The zero value is ready to use; a Scratch is not safe for
// concurrent use.
type Scratch struct {
	r, rAbs, br, brAbs, cr, abr, bound, v, w []float64
}

func grow(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	v = v[:n]
	clear(v)
	return v
}

// Freivalds checks c = op(a)·op(b) with one random vector drawn from rng.
// It returns nil when the result passes, a *Mismatch when it fails or is
// borderline (Mismatch.Borderline), or another error when the operands do
// not match the shape.
func (s *Scratch) Freivalds(op kernel.Op, sh kernel.Shape, a, b, c []float32, rng *rand.Rand) error {
	if err := kernel.Check(op, sh, a, b, c); err != nil {
		return err
	}
	M, K, N := sh.M, sh.K, sh.N
	s.r, s.rAbs = grow(s.r, N), grow(s.rAbs, N)
	// r_j is uniform on [-2, -1] ∪ [1, 2]: continuous, so that errors in
	// several elements of a row cannot cancel except by chance, and bounded
	// away from zero, so that one wrong element is always seen when it is
	// off by more than the row's tolerance.
	for j := range s.r {
		v := 1 + rng.Float64()
		if rng.Uint64()&1 == 1 {
			v = -v
		}
		s.r[j], s.rAbs[j] = v, math.Abs(v)
	}

	// br = op(B)·r, brAbs = |op(B)|·|r| and v = (op(B)∘op(B))·(r∘r), all
	// length K.
	s.br, s.brAbs, s.v = grow(s.br, K), grow(s.brAbs, K), grow(s.v, K)
	if op == kernel.MatMulNT { // B is N×K: accumulate rows into br
		for j := 0; j < N; j++ {
			rj, rja := s.r[j], s.rAbs[j]
			r2 := rj * rj
			for k, x := range b[j*K : j*K+K] {
				f := float64(x)
				s.br[k] += f * rj
				s.brAbs[k] += math.Abs(f) * rja
				s.v[k] += f * f * r2
			}
		}
	} else { // B is K×N: dot each row with r
		for k := 0; k < K; k++ {
			var sum, sumAbs, sq float64
			for j, x := range b[k*N : k*N+N] {
				f := float64(x)
				sum += f * s.r[j]
				sumAbs += math.Abs(f) * s.rAbs[j]
				sq += f * f * s.r[j] * s.r[j]
			}
			s.br[k], s.brAbs[k], s.v[k] = sum, sumAbs, sq
		}
	}

	// abr = op(A)·br, bound = |op(A)|·brAbs and w = (op(A)∘op(A))·v, all
	// length M. w_i = Σ_j r_j² Σ_k (A_ik B_kj)²: the squared terms of row i,
	// weighted as the check weights its elements.
	s.abr, s.bound, s.w = grow(s.abr, M), grow(s.bound, M), grow(s.w, M)
	if op == kernel.MatMulTN { // A is K×M: accumulate rows
		for k := 0; k < K; k++ {
			bk, bka, vk := s.br[k], s.brAbs[k], s.v[k]
			for i, x := range a[k*M : k*M+M] {
				f := float64(x)
				s.abr[i] += f * bk
				s.bound[i] += math.Abs(f) * bka
				s.w[i] += f * f * vk
			}
		}
	} else { // A is M×K
		for i := 0; i < M; i++ {
			var sum, sumAbs, sq float64
			for k, x := range a[i*K : i*K+K] {
				f := float64(x)
				sum += f * s.br[k]
				sumAbs += math.Abs(f) * s.brAbs[k]
				sq += f * f * s.v[k]
			}
			s.abr[i], s.bound[i], s.w[i] = sum, sumAbs, sq
		}
	}

	gamma := Slack * gammaK(K)
	slack := subnormalSlack * float64(N*K)
	var borderline *Mismatch
	for i := 0; i < M; i++ {
		var cr, c2 float64 // Σ_j c_ij r_j and Σ_j c_ij² r_j²
		for j, x := range c[i*N : i*N+N] {
			f := float64(x) * s.r[j]
			cr += f
			c2 += f * f
		}
		diff := math.Abs(cr - s.abr[i])
		rigorous := gamma*s.bound[i] + slack
		if !(diff <= rigorous) { // also catches NaN
			if math.IsNaN(cr) || math.IsInf(cr, 0) {
				return &Mismatch{Row: i, NonFinite: true}
			}
			return &Mismatch{Row: i, Diff: diff, Tol: rigorous}
		}
		// The row's error is Σ_j r_j e_ij with independent e_ij, so its
		// variance is Σ_j r_j² Var(e_ij), which Variance gives in one call
		// from the r²-weighted sums. The claimed c enters only through
		// c², and scaling c up scales the error it must explain alike.
		prob := Lambda*math.Sqrt(Variance(K, c2, s.w[i])) + slack
		if tol := min(prob, rigorous); diff > tol && borderline == nil {
			borderline = &Mismatch{Row: i, Diff: diff, Tol: tol, Borderline: true}
		}
	}
	if borderline != nil {
		return borderline
	}
	return nil
}

// subnormalSlack covers products that a GPU flushes to zero (below the
// smallest normal float32, 2⁻¹²⁶).
const subnormalSlack = 0x1p-126

// gammaK is the classic bound K·u/(1−K·u) on the relative rounding error of
// a K-term float32 dot product.
func gammaK(k int) float64 {
	ku := float64(k) * unitRoundoff
	return ku / (1 - ku)
}
