package kernel

// Reference computes c = op(a)·op(b) on the CPU in float32, overwriting c.
// It is the oracle every other backend is tested against and the CPU
// fallback of the contributor client. Loops are ordered so that the inner
// loop walks contiguous memory, which keeps it within a small factor of a
// tuned BLAS on one core without any platform code.
func Reference(o Op, s Shape, a, b, c []float32) error {
	if err := Check(o, s, a, b, c); err != nil {
		return err
	}
	one := s.Single()
	na, nb, nc := one.ALen(), one.BLen(), one.CLen()
	for z := range s.Count() {
		az, bz, cz := a[z*na:(z+1)*na], b[z*nb:(z+1)*nb], c[z*nc:(z+1)*nc]
		switch o {
		case MatMulNN:
			refNN(one, az, bz, cz)
		case MatMulNT:
			refNT(one, az, bz, cz)
		case MatMulTN:
			refTN(one, az, bz, cz)
		}
	}
	return nil
}

// refNN: c[i,:] = Σ_k a[i,k]·b[k,:] (row-axpy form, contiguous in b and c).
func refNN(s Shape, a, b, c []float32) {
	M, K, N := s.M, s.K, s.N
	for i := 0; i < M; i++ {
		ci := c[i*N : i*N+N]
		clear(ci)
		for k := 0; k < K; k++ {
			aik := a[i*K+k]
			bk := b[k*N : k*N+N]
			for j, bv := range bk {
				ci[j] += aik * bv
			}
		}
	}
}

// refNT: c[i,j] = Σ_k a[i,k]·b[j,k] (dot products of two contiguous rows).
func refNT(s Shape, a, b, c []float32) {
	M, K, N := s.M, s.K, s.N
	for i := 0; i < M; i++ {
		ai := a[i*K : i*K+K]
		for j := 0; j < N; j++ {
			bj := b[j*K : j*K+K]
			var sum float32
			for k, av := range ai {
				sum += av * bj[k]
			}
			c[i*N+j] = sum
		}
	}
}

// refTN: c[i,:] = Σ_k a[k,i]·b[k,:] with a stored K×M.
func refTN(s Shape, a, b, c []float32) {
	M, K, N := s.M, s.K, s.N
	clear(c)
	for k := 0; k < K; k++ {
		ak := a[k*M : k*M+M]
		bk := b[k*N : k*N+N]
		for i, aki := range ak {
			ci := c[i*N : i*N+N]
			for j, bv := range bk {
				ci[j] += aki * bv
			}
		}
	}
}
