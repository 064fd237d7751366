package sandbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestExactMatchesNative checks the arbitration export: the float64
// product and sums of squared terms computed in the sandbox equal kernel.Exact run
// natively, exactly (float64 multiply-adds are not fused in either, and
// the summation order is the same code).
func TestExactMatchesNative(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interrupt = false
	m := compile(t, cfg)
	for _, op := range kernel.Ops {
		for _, s := range []kernel.Shape{{M: 1, K: 1, N: 1}, {M: 7, K: 13, N: 5}, {M: 40, K: 97, N: 33}, {Batch: 3, M: 5, K: 7, N: 9}, {Batch: 6, M: 16, K: 33, N: 8}} {
			t.Run(fmt.Sprintf("%v/%v", op, s), func(t *testing.T) {
				a, b, _ := operands(op, s, 3)
				ex, abs, err := m.Exact(context.Background(), op, s, a, b)
				if err != nil {
					t.Fatal(err)
				}
				wantEx, wantAbs := make([]float64, s.CLen()), make([]float64, s.CLen())
				if err := kernel.Exact(op, s, a, b, wantEx, wantAbs); err != nil {
					t.Fatal(err)
				}
				for i := range wantEx {
					if ex[i] != wantEx[i] || abs[i] != wantAbs[i] {
						if nativeFusesFMA {
							continue // native may fuse; checked within rounding by the hub's own tests
						}
						t.Fatalf("element %d: sandbox (%v, %v), native (%v, %v)", i, ex[i], abs[i], wantEx[i], wantAbs[i])
					}
				}
			})
		}
	}
	if _, _, err := m.Exact(context.Background(), kernel.MatMulNN, kernel.Shape{M: 2, K: 2, N: 2}, []float32{1}, []float32{1, 2, 3, 4}); err == nil {
		t.Error("bad operands accepted")
	}
}
