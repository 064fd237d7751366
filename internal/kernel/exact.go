package kernel

import "fmt"

// Exact computes op(a)·op(b) in float64 into exact, and the per-element
// sums of squared terms Σ_k (op(a)_ik·op(b)_kj)² into sumSq (both M×N,
// overwritten): what an arbiter needs to judge a float32 result against
// the expected rounding error. It is O(M·K·N).
func Exact(o Op, s Shape, a, b []float32, exact, sumSq []float64) error {
	if !o.Valid() {
		return fmt.Errorf("kernel %v: unknown", o)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if len(a) != s.ALen() || len(b) != s.BLen() || len(exact) != s.CLen() || len(sumSq) != s.CLen() {
		return fmt.Errorf("%w: %v %v", ErrOperand, o, s)
	}
	one := s.Single()
	na, nb, nc := one.ALen(), one.BLen(), one.CLen()
	for z := range s.Count() {
		exactOne(o, one, a[z*na:(z+1)*na], b[z*nb:(z+1)*nb], exact[z*nc:(z+1)*nc], sumSq[z*nc:(z+1)*nc])
	}
	return nil
}

// exactOne is Exact for one product of a batch.
func exactOne(o Op, s Shape, a, b []float32, exact, sumSq []float64) {
	M, K, N := s.M, s.K, s.N
	clear(exact)
	clear(sumSq)
	for i := 0; i < M; i++ {
		row, sq := exact[i*N:i*N+N], sumSq[i*N:i*N+N]
		for k := 0; k < K; k++ {
			var x float64
			if o == MatMulTN {
				x = float64(a[k*M+i])
			} else {
				x = float64(a[i*K+k])
			}
			if x == 0 {
				continue
			}
			if o == MatMulNT {
				for j := range row {
					p := x * float64(b[j*K+k])
					row[j] += p
					sq[j] += p * p
				}
			} else {
				for j, y := range b[k*N : k*N+N] {
					p := x * float64(y)
					row[j] += p
					sq[j] += p * p
				}
			}
		}
	}
}
