//go:build !js

package gpu_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	for _, n := range benchSizes(b) {
		s := kernel.Shape{M: n, K: n, N: n}
		for _, op := range []kernel.Op{kernel.MatMulNN} {
			a, bb, c := operands(op, s, 1)
			for _, dv := range devs {
				b.Run(fmt.Sprintf("%s/%d/%s", op, n, dv.name), func(b *testing.B) {
					d := dv.open(b)
					measure(b, s.FLOPs(), func() error { return d.Run(context.Background(), op, s, a, bb, c) })
				})
			}
		}
	}
}

// benchSizes returns the square sizes BenchmarkMatMul runs: 256 and 1024,
// or the comma-separated list in TESSERA_BENCH_SIZES (a real GPU wants
// 4096 to approach its peak; lavapipe would take minutes).
func benchSizes(b *testing.B) []int {
	env := os.Getenv("TESSERA_BENCH_SIZES")
	if env == "" {
		return []int{256, 1024}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 8192 {
			b.Fatalf("TESSERA_BENCH_SIZES: %q is not a size in 1..8192", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkBatched compares a batch of attention-shaped products (64 heads
// of 128×32×128, as QKᵀ of a small transformer) run as one batched task
// with the same products run one task at a time, on every kernel family
// and op, reporting GFLOP/s over the whole batch.
func BenchmarkBatched(b *testing.B) {
	batch := kernel.Shape{Batch: 64, M: 128, K: 32, N: 128}
	one := batch.Single()
	for _, f := range shaders.Families {
		for _, op := range kernel.Ops {
			a, bb, c := operands(op, batch, 1)
			b.Run(fmt.Sprintf("%s/%s/batched", f, op), func(b *testing.B) {
				d := openDevice(b, f)
				measure(b, batch.FLOPs(), func() error { return d.Run(context.Background(), op, batch, a, bb, c) })
			})
			b.Run(fmt.Sprintf("%s/%s/one-by-one", f, op), func(b *testing.B) {
				d := openDevice(b, f)
				na, nb, nc := one.ALen(), one.BLen(), one.CLen()
				measure(b, batch.FLOPs(), func() error {
					for z := range batch.Count() {
						if err := d.Run(context.Background(), op, one, a[z*na:(z+1)*na], bb[z*nb:(z+1)*nb], c[z*nc:(z+1)*nc]); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
	}
}

// measure runs run once to warm up, then times it, reporting GFLOP/s for
// flops floating-point operations per run.
func measure(b *testing.B, flops float64, run func() error) {
	if err := run(); err != nil {
		b.Fatalf("Run: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := run(); err != nil {
			b.Fatalf("Run: %v", err)
		}
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
