// Package verify checks contributors' results on the hub.
//
// Freivalds checks a claimed product C = op(A)·op(B) in O(n²) instead of
// recomputing it in O(n³): for a random vector r it compares C·r with
// op(A)·(op(B)·r). A wrong C passes only if its error happens to be
// orthogonal to r, which a continuous random r makes vanishingly unlikely.
//
// Honest results from different backends differ by float32 rounding, so the
// comparison allows, per row i, the worst-case rounding error of any
// summation order:
//
//	|(C·r)_i − (A·B·r)_i| ≤ γ_K · Σ_j |r_j| Σ_k |A_ik||B_kj|,  γ_K = K·u/(1−K·u), u = 2⁻²⁴
//
// which holds for sequential, blocked, tree and fused-multiply-add
// summation alike (see RATIONALE.md). The hub side is computed in float64,
// whose own error is negligible next to γ_K. The entries of r are drawn
// with |r_j| in [1, 2], so a single wrong element is caught whenever it is
// off by more than its row's tolerance, not merely with high probability.
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

// Mismatch describes a failed check in words a contributor can act on.
type Mismatch struct {
	Row       int
	Diff, Tol float64
	NonFinite bool
}

func (m *Mismatch) Error() string {
	if m.NonFinite {
		return fmt.Sprintf("result row %d contains NaN or Inf", m.Row)
	}
	return fmt.Sprintf("result fails the Freivalds check: row %d is off by %.3g, more than the float32 rounding bound %.3g", m.Row, m.Diff, m.Tol)
}

// Scratch holds the check's work vectors so a caller can reuse them across
// tasks. The zero value is ready to use; a Scratch is not safe for
// concurrent use.
type Scratch struct {
	r, rAbs, br, brAbs, cr, abr, bound []float64
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
// It returns a *Mismatch when the result is wrong, or another error when
// the operands do not match the shape.
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

	// br = op(B)·r and brAbs = |op(B)|·|r|, both length K.
	s.br, s.brAbs = grow(s.br, K), grow(s.brAbs, K)
	if op == kernel.MatMulNT { // B is N×K: accumulate rows into br
		for j := 0; j < N; j++ {
			rj, rja := s.r[j], s.rAbs[j]
			for k, v := range b[j*K : j*K+K] {
				s.br[k] += float64(v) * rj
				s.brAbs[k] += math.Abs(float64(v)) * rja
			}
		}
	} else { // B is K×N: dot each row with r
		for k := 0; k < K; k++ {
			var sum, sumAbs float64
			for j, v := range b[k*N : k*N+N] {
				sum += float64(v) * s.r[j]
				sumAbs += math.Abs(float64(v)) * s.rAbs[j]
			}
			s.br[k], s.brAbs[k] = sum, sumAbs
		}
	}

	// abr = op(A)·br and bound = |op(A)|·brAbs, both length M.
	s.abr, s.bound = grow(s.abr, M), grow(s.bound, M)
	if op == kernel.MatMulTN { // A is K×M: accumulate rows
		for k := 0; k < K; k++ {
			bk, bka := s.br[k], s.brAbs[k]
			for i, v := range a[k*M : k*M+M] {
				s.abr[i] += float64(v) * bk
				s.bound[i] += math.Abs(float64(v)) * bka
			}
		}
	} else { // A is M×K
		for i := 0; i < M; i++ {
			var sum, sumAbs float64
			for k, v := range a[i*K : i*K+K] {
				sum += float64(v) * s.br[k]
				sumAbs += math.Abs(float64(v)) * s.brAbs[k]
			}
			s.abr[i], s.bound[i] = sum, sumAbs
		}
	}

	gamma := Slack * gammaK(K)
	for i := 0; i < M; i++ {
		var cr float64
		for j, v := range c[i*N : i*N+N] {
			cr += float64(v) * s.r[j]
		}
		diff := math.Abs(cr - s.abr[i])
		tol := gamma*s.bound[i] + subnormalSlack*float64(N*K)
		if !(diff <= tol) { // also catches NaN
			if math.IsNaN(cr) || math.IsInf(cr, 0) {
				return &Mismatch{Row: i, NonFinite: true}
			}
			return &Mismatch{Row: i, Diff: diff, Tol: tol}
		}
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
