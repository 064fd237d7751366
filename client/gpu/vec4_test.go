//go:build !js

package gpu_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// vec4Shapes have M, K and N multiples of 4, so the Vec4 kernels run
// them: a single block, blocks cut by M and N (an odd number of column
// vec4s leaves an invocation's second group outside C), a long K, the
// language model's training tiles and a batch.
var vec4Shapes = []kernel.Shape{
	{M: 4, K: 4, N: 4},
	{M: 8, K: 12, N: 4},
	{M: 36, K: 20, N: 44},
	{M: 100, K: 512, N: 12},
	{M: 68, K: 4, N: 136},
	{M: 2048, K: 128, N: 64},
	{M: 64, K: 32, N: 64, Batch: 3},
}

// TestVec4EqualsReference checks that the Vec4 kernels sum each element
// of C in the Go reference's order: their results equal kernel.Reference
// bit for bit, for every op, including when a task is split into bands of
// rows and groups of products.
func TestVec4EqualsReference(t *testing.T) {
	whole := openDevice(t, shaders.Vec4)
	banded, err := gpu.Open(context.Background(), gpu.Options{Family: shaders.Vec4, MaxSubmitFLOPs: 1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer banded.Close()
	for _, d := range []*gpu.Device{whole, banded} {
		for _, op := range kernel.Ops {
			for i, s := range vec4Shapes {
				if shaders.Vec4.For(s) != shaders.Vec4 {
					t.Fatalf("%v is not a Vec4 shape", s)
				}
				a, b, c := operands(op, s, uint64(i))
				for j := range c {
					c[j] = float32(math.NaN()) // Run must overwrite every element
				}
				if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
					t.Fatalf("%v %v: Run: %v", op, s, err)
				}
				want := make([]float32, len(c))
				if err := kernel.Reference(op, s, a, b, want); err != nil {
					t.Fatal(err)
				}
				bad := 0
				for j := range c {
					if math.Float32bits(c[j]) != math.Float32bits(want[j]) {
						if bad < 3 {
							t.Errorf("%v %v: C[%d] = %g, reference %g", op, s, j, c[j], want[j])
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%v %v: %d of %d elements differ from the reference", op, s, bad, len(c))
				}
			}
		}
	}
}

// TestVec4Chooses checks which kernels a device runs: a Vec4 device its
// own for shapes whose M, K and N are multiples of 4 and RegBlock's for
// the rest (both built), a RegBlock device always its own.
func TestVec4Chooses(t *testing.T) {
	unaligned := []kernel.Shape{{M: 3, K: 4, N: 4}, {M: 4, K: 5, N: 4}, {M: 4, K: 4, N: 10}, {M: 3, K: 4, N: 4, Batch: 2}}
	for _, dev := range []struct {
		family       shaders.Family
		aligned, odd shaders.Family
	}{
		{shaders.Vec4, shaders.Vec4, shaders.RegBlock},
		{shaders.RegBlock, shaders.RegBlock, shaders.RegBlock},
	} {
		d := openDevice(t, dev.family)
		for _, op := range kernel.Ops {
			for _, c := range []struct {
				shapes []kernel.Shape
				want   shaders.Family
			}{{vec4Shapes, dev.aligned}, {unaligned, dev.odd}} {
				for _, s := range c.shapes {
					if got, built := gpu.KernelFor(d, op, s); got != c.want || !built {
						t.Errorf("%v device, %v %v: %v kernel (built %v), want %v", dev.family, op, s, got, built, c.want)
					}
				}
			}
		}
	}
}

// TestVec4Fallback runs shapes with a dimension that is not a multiple of
// 4 on a Vec4 device (RegBlock's kernels), between aligned ones, each
// checked against the reference.
func TestVec4Fallback(t *testing.T) {
	d := openDevice(t, shaders.Vec4)
	for i, s := range []kernel.Shape{
		{M: 36, K: 20, N: 44},
		{M: 10, K: 784, N: 32},
		{M: 128, K: 256, N: 10},
		{M: 36, K: 20, N: 44},
		{M: 33, K: 20, N: 44},
		{M: 4, K: 4, N: 4, Batch: 5},
		{M: 3, K: 4, N: 4, Batch: 5},
	} {
		for _, op := range kernel.Ops {
			a, b, c := operands(op, s, uint64(i))
			if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
				t.Fatalf("%v %v: Run: %v", op, s, err)
			}
			checkClose(t, op, s, a, b, c)
		}
	}
}
