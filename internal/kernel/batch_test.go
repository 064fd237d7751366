package kernel

import (
	"math/rand/v2"
	"testing"
)

// A batched product equals its products computed one by one, for every op,
// in both Reference and Exact.
func TestBatchedEqualsSingles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, o := range Ops {
		t.Run(o.String(), func(t *testing.T) {
			s := Shape{Batch: 5, M: 7, K: 3, N: 6}
			a, b, c := fill(s.ALen()), fill(s.BLen()), make([]float32, s.CLen())
			if err := Reference(o, s, a, b, c); err != nil {
				t.Fatal(err)
			}
			ex, sq := make([]float64, s.CLen()), make([]float64, s.CLen())
			if err := Exact(o, s, a, b, ex, sq); err != nil {
				t.Fatal(err)
			}
			one := s.Single()
			for z := range s.Count() {
				want := make([]float32, one.CLen())
				az := a[z*one.ALen() : (z+1)*one.ALen()]
				bz := b[z*one.BLen() : (z+1)*one.BLen()]
				if err := Reference(o, one, az, bz, want); err != nil {
					t.Fatal(err)
				}
				wex, wsq := make([]float64, one.CLen()), make([]float64, one.CLen())
				if err := Exact(o, one, az, bz, wex, wsq); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					k := z*one.CLen() + i
					if c[k] != want[i] || ex[k] != wex[i] || sq[k] != wsq[i] {
						t.Fatalf("product %d element %d: batched %v/%v/%v, single %v/%v/%v", z, i, c[k], ex[k], sq[k], want[i], wex[i], wsq[i])
					}
				}
			}
		})
	}
}

func TestShapeBatchBounds(t *testing.T) {
	for _, tc := range []struct {
		s  Shape
		ok bool
	}{
		{Shape{M: 2, K: 2, N: 2}, true},
		{Shape{Batch: 1, M: 2, K: 2, N: 2}, true},
		{Shape{Batch: MaxBatch, M: 2, K: 2, N: 2}, true},
		{Shape{Batch: -1, M: 2, K: 2, N: 2}, false},
		{Shape{Batch: MaxBatch + 1, M: 2, K: 2, N: 2}, false},
		{Shape{Batch: 1024, M: 128, K: 128, N: 128}, false}, // 16M elements per operand
	} {
		if err := tc.s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%v: Validate() = %v, want ok=%v", tc.s, err, tc.ok)
		}
	}
	if got := (Shape{Batch: 3, M: 2, K: 4, N: 5}).FLOPs(); got != 2*3*2*4*5 {
		t.Errorf("FLOPs = %v", got)
	}
}
