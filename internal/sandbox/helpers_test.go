package sandbox

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// kernelsWasm is the kernels module built once per test binary.
var kernelsWasm = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "sandbox-kernels-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "kernels.wasm")
	if err := Build(context.Background(), out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
})

// wasmBytes returns the kernels module, failing tb if it does not build.
func wasmBytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := kernelsWasm()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// compile compiles the kernels module under cfg and closes it after tb.
func compile(tb testing.TB, cfg Config) *Module {
	tb.Helper()
	m, err := Compile(context.Background(), wasmBytes(tb), cfg)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m
}

// operands returns random A and B and a C filled with NaN, so that a
// kernel that skips an element is caught.
func operands(op kernel.Op, s kernel.Shape, seed uint64) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(seed, uint64(op)))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
		return x
	}
	a, b = fill(s.ALen()), fill(s.BLen())
	c = make([]float32, s.CLen())
	for i := range c {
		c[i] = float32(math.NaN())
	}
	return a, b, c
}

// reference computes the native result for op, s, a, b.
func reference(tb testing.TB, op kernel.Op, s kernel.Shape, a, b []float32) []float32 {
	tb.Helper()
	c := make([]float32, s.CLen())
	if err := kernel.Reference(op, s, a, b, c); err != nil {
		tb.Fatal(err)
	}
	return c
}

// checkEqual fails tb unless got equals want bit for bit (or, where the
// native compiler fuses multiply-add, within float32 rounding of K terms).
func checkEqual(tb testing.TB, s kernel.Shape, got, want []float32) {
	tb.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) == math.Float32bits(w) {
			continue
		}
		if nativeFusesFMA && math.Abs(float64(g-w)) <= float64(s.K)*0x1p-23 {
			continue
		}
		tb.Fatalf("C[%d] (row %d, col %d) = %v (%#08x), native %v (%#08x)",
			i, i/s.N, i%s.N, g, math.Float32bits(g), w, math.Float32bits(w))
	}
}
