package sandbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// nativeNs caches the native kernel.Reference time per op, by size.
var nativeNs sync.Map

// nativeTime returns kernel.Reference's ns/op for an n³ MatMulNN.
func nativeTime(n int) float64 {
	if v, ok := nativeNs.Load(n); ok {
		return v.(float64)
	}
	s := kernel.Shape{M: n, K: n, N: n}
	a, b, c := operands(kernel.MatMulNN, s, 8)
	// testing.Benchmark would deadlock inside a running benchmark, so time
	// at least three runs and 200ms by hand.
	start, runs := time.Now(), 0
	for runs < 3 || time.Since(start) < 200*time.Millisecond {
		kernel.Reference(kernel.MatMulNN, s, a, b, c)
		runs++
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(runs)
	nativeNs.Store(n, ns)
	return ns
}

// BenchmarkWazeroVsNative times an n³ MatMulNN natively and in the
// sandbox with and without interruption, reporting each as GFLOP/s and as
// a multiple of the native time (x_native). The sandboxed time includes a
// fresh instance and the operand copies. 1024³ runs only without -short,
// and not interruptible (about two minutes a call).
func BenchmarkWazeroVsNative(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		s := kernel.Shape{M: n, K: n, N: n}
		b.Run(fmt.Sprintf("n=%d/native", n), func(b *testing.B) {
			if n == 1024 && testing.Short() {
				b.Skip("1024³ skipped in -short mode")
			}
			x, y, z := operands(kernel.MatMulNN, s, 8)
			for b.Loop() {
				kernel.Reference(kernel.MatMulNN, s, x, y, z)
			}
			b.ReportMetric(s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		for _, mode := range modes {
			b.Run(fmt.Sprintf("n=%d/wazero-%s", n, mode.name), func(b *testing.B) {
				if n == 1024 && (testing.Short() || mode.interrupt) {
					b.Skip("1024³ skipped in -short mode and when interruptible")
				}
				cfg := DefaultConfig()
				cfg.Interrupt = mode.interrupt
				cfg.Timeout = 0 // default, 30 s
				if n == 1024 {
					cfg.Timeout = 5 * time.Minute
				}
				m := compile(b, cfg)
				native := nativeTime(n)
				x, y, z := operands(kernel.MatMulNN, s, 8)
				b.ResetTimer()
				for b.Loop() {
					if err := m.MatMul(context.Background(), kernel.MatMulNN, s, x, y, z); err != nil {
						b.Fatal(err)
					}
				}
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(s.FLOPs()/perOp, "GFLOP/s")
				b.ReportMetric(perOp/native, "x_native")
			})
		}
	}
}

// BenchmarkInstantiate times what a fresh instance per call costs: start
// (the Go runtime's _initialize) and close.
func BenchmarkInstantiate(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Interrupt = mode.interrupt
			m := compile(b, cfg)
			ctx := context.Background()
			for b.Loop() {
				inst, _, err := m.instantiate(ctx, cfg.Timeout)
				if err != nil {
					b.Fatal(err)
				}
				inst.Close(ctx)
			}
		})
	}
}

// BenchmarkCompile times Compile with a warm in-memory cache and with none.
func BenchmarkCompile(b *testing.B) {
	wasm := wasmBytes(b)
	ctx := context.Background()
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			for b.Loop() {
				cfg := DefaultConfig()
				if !cached {
					cfg.CacheDir = b.TempDir()
				}
				m, err := Compile(ctx, wasm, cfg)
				if err != nil {
					b.Fatal(err)
				}
				m.Close(ctx)
			}
		})
	}
}
