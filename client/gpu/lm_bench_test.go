//go:build !js

package gpu_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// BenchmarkLanguageModelTiles runs the default language model's training
// tile shapes (a 2048-row step of 128-wide layers cut into 64-column
// tiles: the forward product, the input and weight gradients, and the
// MLP's 512-deep output projection) on the Go CPU reference and on the
// RegBlock and Vec4 kernels of the machine's WebGPU adapter (lavapipe
// here), reporting GFLOP/s per Run (upload, compute, readback). These are
// the shapes `make lm`'s edges spend their time on.
func BenchmarkLanguageModelTiles(b *testing.B) {
	shapes := []struct {
		op kernel.Op
		s  kernel.Shape
	}{
		{kernel.MatMulNN, kernel.Shape{M: 2048, K: 128, N: 64}},
		{kernel.MatMulNT, kernel.Shape{M: 2048, K: 64, N: 128}},
		{kernel.MatMulTN, kernel.Shape{M: 128, K: 2048, N: 64}},
		{kernel.MatMulNN, kernel.Shape{M: 2048, K: 512, N: 64}},
	}
	for _, sh := range shapes {
		a, bb, c := operands(sh.op, sh.s, 1)
		for _, dv := range []string{"cpu", "regblock", "vec4"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d/%s", sh.op, sh.s.M, sh.s.K, sh.s.N, dv), func(b *testing.B) {
				var d device.Device = device.CPU{}
				if dv != "cpu" {
					f, err := shaders.ParseFamily(dv)
					if err != nil {
						b.Fatal(err)
					}
					d = openDevice(b, f)
				}
				measure(b, sh.s.FLOPs(), func() error { return d.Run(context.Background(), sh.op, sh.s, a, bb, c) })
			})
		}
	}
}
