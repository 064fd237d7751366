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
//   - the probabilistic bound of rounding errors that behave as
//     independent random variables, Lambda·√K·u·‖A_i‖·(Σ_j r_j² ‖B_j‖²)^½:
//     a row within it passes (Pass).
//
// A row between the two is Borderline: the hub settles it by recomputing
// the task in a sandbox (package sandbox). The probabilistic bound is about
// √K times tighter, which is what lets a check see results computed in
// lower precision or perturbed by small noise. Blinding (blind.go) permutes
// the inner dimension of every assignment, which makes the rounding errors
// of honest results as independent as the bound assumes.
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

// Lambda scales the probabilistic tolerance. Under the model of
// independent rounding errors, an honest row exceeds Lambda standard
// deviations with probability below 1e-50; the Cauchy–Schwarz step in the
// bound adds further margin.
const Lambda = 16

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
	r, rAbs, br, brAbs, cr, abr, bound, aNorm, bNorm []float64
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

	// br = op(B)·r and brAbs = |op(B)|·|r|, both length K; bNorm holds the
	// squared norms of op(B)'s columns, length N.
	s.br, s.brAbs, s.bNorm = grow(s.br, K), grow(s.brAbs, K), grow(s.bNorm, N)
	if op == kernel.MatMulNT { // B is N×K: accumulate rows into br
		for j := 0; j < N; j++ {
			rj, rja := s.r[j], s.rAbs[j]
			var sq float64
			for k, v := range b[j*K : j*K+K] {
				f := float64(v)
				s.br[k] += f * rj
				s.brAbs[k] += math.Abs(f) * rja
				sq += f * f
			}
			s.bNorm[j] = sq
		}
	} else { // B is K×N: dot each row with r
		for k := 0; k < K; k++ {
			var sum, sumAbs float64
			for j, v := range b[k*N : k*N+N] {
				f := float64(v)
				sum += f * s.r[j]
				sumAbs += math.Abs(f) * s.rAbs[j]
				s.bNorm[j] += f * f
			}
			s.br[k], s.brAbs[k] = sum, sumAbs
		}
	}
	var w float64 // Σ_j r_j² ‖B_j‖²
	for j, sq := range s.bNorm {
		w += s.r[j] * s.r[j] * sq
	}

	// abr = op(A)·br and bound = |op(A)|·brAbs, both length M; aNorm holds
	// the squared norms of op(A)'s rows.
	s.abr, s.bound, s.aNorm = grow(s.abr, M), grow(s.bound, M), grow(s.aNorm, M)
	if op == kernel.MatMulTN { // A is K×M: accumulate rows
		for k := 0; k < K; k++ {
			bk, bka := s.br[k], s.brAbs[k]
			for i, v := range a[k*M : k*M+M] {
				f := float64(v)
				s.abr[i] += f * bk
				s.bound[i] += math.Abs(f) * bka
				s.aNorm[i] += f * f
			}
		}
	} else { // A is M×K
		for i := 0; i < M; i++ {
			var sum, sumAbs, sq float64
			for k, v := range a[i*K : i*K+K] {
				f := float64(v)
				sum += f * s.br[k]
				sumAbs += math.Abs(f) * s.brAbs[k]
				sq += f * f
			}
			s.abr[i], s.bound[i], s.aNorm[i] = sum, sumAbs, sq
		}
	}

	gamma := Slack * gammaK(K)
	prob := Lambda * math.Sqrt(float64(K)) * unitRoundoff * math.Sqrt(w)
	slack := subnormalSlack * float64(N*K)
	var borderline *Mismatch
	for i := 0; i < M; i++ {
		var cr float64
		for j, v := range c[i*N : i*N+N] {
			cr += float64(v) * s.r[j]
		}
		diff := math.Abs(cr - s.abr[i])
		rigorous := gamma*s.bound[i] + slack
		if !(diff <= rigorous) { // also catches NaN
			if math.IsNaN(cr) || math.IsInf(cr, 0) {
				return &Mismatch{Row: i, NonFinite: true}
			}
			return &Mismatch{Row: i, Diff: diff, Tol: rigorous}
		}
		if tol := min(prob*math.Sqrt(s.aNorm[i])+slack, rigorous); diff > tol && borderline == nil {
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
