package digest

import (
	"math"
	"testing"
)

// TestOf checks that equal contents digest equally, wherever they lie,
// and that a change of one bit, of length, or of the sign of a zero
// changes the digest.
func TestOf(t *testing.T) {
	v := []float32{1, 2, 3, 4, 5}
	w := append([]float32(nil), v...)
	if Of(v) != Of(w) {
		t.Fatal("equal contents in two slices digest differently")
	}
	if Of(v) == (D{}) {
		t.Fatal("a digest is zero, the value that stands for none")
	}
	w[4] = math.Float32frombits(math.Float32bits(w[4]) ^ 1)
	if Of(v) == Of(w) {
		t.Fatal("a one-bit change kept the digest")
	}
	if Of(v[:4]) == Of(v) {
		t.Fatal("a shorter operand has the same digest")
	}
	z, nz := []float32{0}, []float32{float32(math.Copysign(0, -1))}
	if Of(z) == Of(nz) {
		t.Fatal("0 and -0 digest alike: digests are of bytes, not values")
	}
}
