package verify

import (
	"math"
	"testing"
)

// TestPow2 checks the bit-built scales against math.Ldexp over the whole
// range of exponents a blinding draws.
func TestPow2(t *testing.T) {
	for e := int8(-maxExp); e <= maxExp; e++ {
		if got, want := pow2(e), float32(math.Ldexp(1, int(e))); got != want {
			t.Errorf("pow2(%d) = %v, want %v", e, got, want)
		}
	}
}
