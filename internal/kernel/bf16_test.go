package kernel

import (
	"math"
	"testing"
)

// TestBF16 checks rounding to nearest with ties to even, exactness of
// representable values, the unit roundoff bound and the special values.
func TestBF16(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want float32
	}{
		{1, 1},
		{-2.5, -2.5},
		{1 + 1.0/256, 1},                        // a tie: to even (1)
		{1 + 3.0/256, 1 + 4.0/256},              // a tie: to even (1+4/256)
		{1 + 1.0/256 + 1.0/4096, 1 + 2.0/256},   // above the tie: up
		{math.MaxFloat32, float32(math.Inf(1))}, // beyond the largest bfloat16
		{float32(math.Inf(-1)), float32(math.Inf(-1))},
	} {
		if got := FromBF16(ToBF16(tc.in)); got != tc.want {
			t.Errorf("bfloat16(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if nan := FromBF16(ToBF16(float32(math.NaN()))); nan == nan {
		t.Error("NaN did not stay NaN")
	}
	if low := FromBF16(ToBF16(math.Float32frombits(0xff800001))); low == low {
		t.Error("a NaN with its payload in the lower half became a number")
	}
	// Every bfloat16, NaNs with any payload included, survives the trip
	// through float32 bit for bit: the wire codec relies on it.
	for h := range 1 << 16 {
		if back := ToBF16(FromBF16(uint16(h))); back != uint16(h) {
			t.Fatalf("bfloat16 %#04x came back as %#04x", h, back)
		}
	}
	for i := range 100000 {
		x := float32(math.Sin(float64(i)) * math.Exp(float64(i%60-30)))
		r := FromBF16(ToBF16(x))
		if d := math.Abs(float64(r - x)); d > BF16Unit*math.Abs(float64(x)) {
			t.Fatalf("bfloat16(%v) = %v: off by %v, more than the unit roundoff allows", x, r, d)
		}
		if FromBF16(ToBF16(r)) != r {
			t.Fatalf("bfloat16 value %v does not round to itself", r)
		}
	}
}
