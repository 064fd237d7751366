package verify_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestSmallNoiseIsNotPassed perturbs every element of honest results by
// small relative noise, as a contributor computing in half precision or
// cutting corners would: one check must not pass it (it fails outright or
// is borderline, which the hub arbitrates). Shapes are MNIST training tiles.
func TestSmallNoiseIsNotPassed(t *testing.T) {
	var s verify.Scratch
	for _, sh := range []kernel.Shape{{M: 128, K: 784, N: 32}, {M: 128, K: 256, N: 32}, {M: 256, K: 256, N: 256}, {M: 784, K: 128, N: 32}} {
		for _, rel := range []float32{1e-2, 1e-3} {
			t.Run(fmt.Sprintf("%v/%g", sh, rel), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(sh.K), 9))
				op := kernel.MatMulNN
				a, b := operands(op, sh, rng, dists[0].gen)
				c := make([]float32, sh.CLen())
				kernel.Reference(op, sh, a, b, c)
				const trials = 100
				passed, failed := 0, 0
				for trial := range trials {
					noisy := make([]float32, len(c))
					for i, v := range c {
						noisy[i] = v * (1 + rel*(2*rng.Float32()-1))
					}
					err := s.Freivalds(op, sh, a, b, noisy, rand.New(rand.NewPCG(uint64(trial), 3)))
					var mm *verify.Mismatch
					switch {
					case err == nil:
						passed++
					case errors.As(err, &mm) && !mm.Borderline:
						failed++
					}
				}
				t.Logf("noise %g: %d/%d passed, %d failed outright, rest borderline", rel, passed, trials, failed)
				if passed > 0 {
					t.Errorf("%d of %d results with %g relative noise passed", passed, trials, rel)
				}
			})
		}
	}
}
