package verify

import (
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Norms returns the Euclidean norms of op(A)'s rows (M) and op(B)'s
// columns (N), the scale of each element's rounding error.
func Norms(op kernel.Op, sh kernel.Shape, a, b []float32) (rows, cols []float64) {
	M, K, N := sh.M, sh.K, sh.N
	rows, cols = make([]float64, M), make([]float64, N)
	if op == kernel.MatMulTN {
		for k := 0; k < K; k++ {
			for i, v := range a[k*M : k*M+M] {
				rows[i] += float64(v) * float64(v)
			}
		}
	} else {
		for i := 0; i < M; i++ {
			for _, v := range a[i*K : i*K+K] {
				rows[i] += float64(v) * float64(v)
			}
		}
	}
	if op == kernel.MatMulNT {
		for j := 0; j < N; j++ {
			for _, v := range b[j*K : j*K+K] {
				cols[j] += float64(v) * float64(v)
			}
		}
	} else {
		for k := 0; k < K; k++ {
			for j, v := range b[k*N : k*N+N] {
				cols[j] += float64(v) * float64(v)
			}
		}
	}
	for i := range rows {
		rows[i] = math.Sqrt(rows[i])
	}
	for j := range cols {
		cols[j] = math.Sqrt(cols[j])
	}
	return rows, cols
}

// Disagreement describes two results, or a result and the exact product,
// that differ by more than rounding explains.
type Disagreement struct {
	Row, Col  int
	Diff, Tol float64
}

func (d *Disagreement) Error() string {
	return fmt.Sprintf("element (%d, %d) differs by %.3g, more than the rounding bound %.3g", d.Row, d.Col, d.Diff, d.Tol)
}

// Agree compares two honest-looking results of the same task element by
// element: both carry rounding errors, each within the probabilistic bound
// Lambda·√K·u·‖A_i‖·‖B_j‖, so they may differ by twice that. It returns a
// *Disagreement for the first element beyond it.
func Agree(sh kernel.Shape, rows, cols []float64, c1, c2 []float32) error {
	scale := 2 * Lambda * math.Sqrt(float64(sh.K)) * unitRoundoff
	slack := 2 * subnormalSlack * float64(sh.K)
	N := sh.N
	for i := 0; i < sh.M; i++ {
		for j := 0; j < N; j++ {
			d := math.Abs(float64(c1[i*N+j]) - float64(c2[i*N+j]))
			if tol := scale*rows[i]*cols[j] + slack; !(d <= tol) {
				return &Disagreement{Row: i, Col: j, Diff: d, Tol: tol}
			}
		}
	}
	return nil
}

// Judge compares a result with the exact product (computed in float64)
// and the per-element sums Σ_k |A_ik||B_kj|: an honest float32 result is
// within Lambda·√K·u of that sum in every element. Arbitration uses it,
// having paid for the exact product, to decide borderline and disputed
// results with the tightest bound available.
func Judge(sh kernel.Shape, exact, absSum []float64, c []float32) error {
	scale := Lambda * math.Sqrt(float64(sh.K)) * unitRoundoff
	slack := subnormalSlack * float64(sh.K)
	for idx, v := range c {
		d := math.Abs(float64(v) - exact[idx])
		if tol := scale*absSum[idx] + slack; !(d <= tol) {
			return &Disagreement{Row: idx / sh.N, Col: idx % sh.N, Diff: d, Tol: tol}
		}
	}
	return nil
}

// Exact computes op(A)·op(B) in float64 and the per-element sums
// Σ_k |op(A)_ik||op(B)_kj|: the native arbiter's work, O(M·K·N).
func Exact(op kernel.Op, sh kernel.Shape, a, b []float32) (exact, absSum []float64) {
	M, K, N := sh.M, sh.K, sh.N
	exact, absSum = make([]float64, M*N), make([]float64, M*N)
	ai := func(i, k int) float64 {
		if op == kernel.MatMulTN {
			return float64(a[k*M+i])
		}
		return float64(a[i*K+k])
	}
	bk := func(k, j int) float64 {
		if op == kernel.MatMulNT {
			return float64(b[j*K+k])
		}
		return float64(b[k*N+j])
	}
	for i := 0; i < M; i++ {
		row, abs := exact[i*N:i*N+N], absSum[i*N:i*N+N]
		for k := 0; k < K; k++ {
			x := ai(i, k)
			if x == 0 {
				continue
			}
			ax := math.Abs(x)
			for j := range row {
				y := bk(k, j)
				row[j] += x * y
				abs[j] += ax * math.Abs(y)
			}
		}
	}
	return exact, absSum
}
