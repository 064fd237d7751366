package verify

import (
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Norms returns, for op(A)'s rows (M per product) and op(B)'s columns (N
// per product), the norms (Σ_k x⁴)^½ whose product bounds each element's
// sum of squared terms, Σ_k (A_ik B_kj)² ≤ (Σ_k A_ik⁴)^½ (Σ_k B_kj⁴)^½
// (Cauchy–Schwarz): Agree's O(n²) stand-in for the O(n³) exact sums. For a
// batch, rows and cols hold each product's norms one after the other.
func Norms(op kernel.Op, sh kernel.Shape, a, b []float32) (rows, cols []float64) {
	one := sh.Single()
	M, N := sh.M, sh.N
	rows, cols = make([]float64, sh.Count()*M), make([]float64, sh.Count()*N)
	for z := range sh.Count() {
		normsOne(op, one, a[z*one.ALen():(z+1)*one.ALen()], b[z*one.BLen():(z+1)*one.BLen()],
			rows[z*M:(z+1)*M], cols[z*N:(z+1)*N])
	}
	return rows, cols
}

// normsOne is Norms for one product.
func normsOne(op kernel.Op, sh kernel.Shape, a, b []float32, rows, cols []float64) {
	M, K, N := sh.M, sh.K, sh.N
	q := func(v float32) float64 { f := float64(v) * float64(v); return f * f }
	if op == kernel.MatMulTN {
		for k := 0; k < K; k++ {
			for i, v := range a[k*M : k*M+M] {
				rows[i] += q(v)
			}
		}
	} else {
		for i := 0; i < M; i++ {
			for _, v := range a[i*K : i*K+K] {
				rows[i] += q(v)
			}
		}
	}
	if op == kernel.MatMulNT {
		for j := 0; j < N; j++ {
			for _, v := range b[j*K : j*K+K] {
				cols[j] += q(v)
			}
		}
	} else {
		for k := 0; k < K; k++ {
			for j, v := range b[k*N : k*N+N] {
				cols[j] += q(v)
			}
		}
	}
	for i := range rows {
		rows[i] = math.Sqrt(rows[i])
	}
	for j := range cols {
		cols[j] = math.Sqrt(cols[j])
	}
}

// Disagreement describes two results, or a result and the exact product,
// that differ by more than rounding explains.
type Disagreement struct {
	// Product is the index of the product in a batch (0 when unbatched).
	Product   int
	Row, Col  int
	Diff, Tol float64
	batched   bool
}

func (d *Disagreement) Error() string {
	return fmt.Sprintf("element %s differs by %.3g, more than the rounding bound %.3g",
		where(d.batched, d.Product, "(%d, %d)", d.Row, d.Col), d.Diff, d.Tol)
}

// disagreement locates element idx of a (possibly batched) result.
func disagreement(sh kernel.Shape, idx int, diff, tol float64) *Disagreement {
	mn := sh.M * sh.N
	return &Disagreement{Product: idx / mn, Row: idx % mn / sh.N, Col: idx % sh.N, Diff: diff, Tol: tol, batched: sh.Count() > 1}
}

// Agree compares two results of the same task that each passed the check,
// element by element: both carry rounding error, so they may differ by
// Lambda standard deviations of the difference of two independent errors,
// √2·σ_ij, with σ_ij from Variance using c_ij (the mean of the two) and
// the Cauchy–Schwarz bound rows[i]·cols[j] (Norms) on the squared terms.
// It returns a *Disagreement for the first element beyond it.
func Agree(sh kernel.Shape, rows, cols []float64, c1, c2 []float32) error {
	slack := 2 * SubnormalSlack * float64(sh.K)
	M, N := sh.M, sh.N
	for z := range sh.Count() {
		rz, cz := rows[z*M:(z+1)*M], cols[z*N:(z+1)*N]
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				idx := (z*M+i)*N + j
				x, y := float64(c1[idx]), float64(c2[idx])
				mid := (x + y) / 2
				tol := Lambda*math.Sqrt(2*Variance(sh.K, mid*mid, rz[i]*cz[j])) + slack
				if d := math.Abs(x - y); !(d <= tol) {
					return disagreement(sh, idx, d, tol)
				}
			}
		}
	}
	return nil
}

// Judge compares a result with the exact product (computed in float64)
// and the per-element sums of squared terms: an honest float32 result is
// within Lambda standard deviations (Variance) in every element. The
// arbiter uses it, having paid for the exact product, to decide borderline
// and disputed results with the tightest bound available.
func Judge(sh kernel.Shape, exact, sumSq []float64, c []float32) error {
	slack := SubnormalSlack * float64(sh.K)
	for idx, v := range c {
		d := math.Abs(float64(v) - exact[idx])
		tol := Lambda*math.Sqrt(Variance(sh.K, exact[idx]*exact[idx], sumSq[idx])) + slack
		if !(d <= tol) {
			return disagreement(sh, idx, d, tol)
		}
	}
	return nil
}

// Exact computes op(A)·op(B) in float64 and the per-element sums of
// squared terms natively (kernel.Exact): the hub's own arbiter.
func Exact(op kernel.Op, sh kernel.Shape, a, b []float32) (exact, sumSq []float64, err error) {
	exact, sumSq = make([]float64, sh.CLen()), make([]float64, sh.CLen())
	return exact, sumSq, kernel.Exact(op, sh, a, b, exact, sumSq)
}
