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

// BenchmarkMatMul compares the WebGPU kernel families with the Go CPU
// reference (device.CPU) on square products, reporting GFLOP/s. Each
// iteration is one full Run: upload, compute and readback.
func BenchmarkMatMul(b *testing.B) {
	devs := []struct {
		name string
		open func(testing.TB) device.Device
	}{
		{"cpu", func(testing.TB) device.Device { return device.CPU{} }},
	}
	for _, f := range shaders.Families {
		devs = append(devs, struct {
			name string
			open func(testing.TB) device.Device
		}{"webgpu-" + f.String(), func(tb testing.TB) device.Device { return openDevice(tb, f) }})
	}
	for _, n := range []int{256, 1024} {
		s := kernel.Shape{M: n, K: n, N: n}
		for _, op := range []kernel.Op{kernel.MatMulNN} {
			a, bb, c := operands(op, s, 1)
			for _, dv := range devs {
				b.Run(fmt.Sprintf("%s/%d/%s", op, n, dv.name), func(b *testing.B) {
					d := dv.open(b)
					ctx := context.Background()
					if err := d.Run(ctx, op, s, a, bb, c); err != nil { // warm up
						b.Fatalf("Run: %v", err)
					}
					b.ResetTimer()
					for b.Loop() {
						if err := d.Run(ctx, op, s, a, bb, c); err != nil {
							b.Fatalf("Run: %v", err)
						}
					}
					b.ReportMetric(s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
