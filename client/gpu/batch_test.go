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

// batchShapes are batched shapes with odd dimensions, products that span
// several workgroups, the attention shape of the transformer, and the
// largest batch (one workgroup per product in z).
var batchShapes = []kernel.Shape{
	{Batch: 2, M: 1, K: 1, N: 1},
	{Batch: 3, M: 5, K: 7, N: 9},
	{Batch: 5, M: 33, K: 17, N: 65},
	{Batch: 2, M: 65, K: 129, N: 33},
	{Batch: 64, M: 128, K: 32, N: 128},
	{Batch: kernel.MaxBatch, M: 3, K: 2, N: 5},
}

// TestBatchedMatchesReference runs every variant on batched shapes and
// compares with kernel.Reference, then checks that each product of the
// batch is bit for bit what the same kernel gives for that product alone:
// the batch offset must change where a product is read and written, never
// how it is summed.
func TestBatchedMatchesReference(t *testing.T) {
	for _, family := range shaders.Families {
		t.Run(family.String(), func(t *testing.T) {
			d := openDevice(t, family)
			for _, op := range kernel.Ops {
				for i, s := range batchShapes {
					t.Run(op.String()+"/"+s.String(), func(t *testing.T) {
						if testing.Short() && s.FLOPs() > 1e7 {
							t.Skip("large batch")
						}
						a, b, c := operands(op, s, uint64(50+i))
						for j := range c {
							c[j] = float32(math.NaN())
						}
						if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
							t.Fatalf("Run: %v", err)
						}
						checkClose(t, op, s, a, b, c)
						checkSingles(t, d, op, s, a, b, c)
					})
				}
			}
		})
	}
}

// checkSingles runs a few products of batch s alone on d and compares
// them bitwise with the batched result c.
func checkSingles(tb testing.TB, d *gpu.Device, op kernel.Op, s kernel.Shape, a, b, c []float32) {
	tb.Helper()
	one := s.Single()
	na, nb, nc := one.ALen(), one.BLen(), one.CLen()
	for _, z := range []int{0, s.Count() / 2, s.Count() - 1} {
		got := make([]float32, nc)
		if err := d.Run(context.Background(), op, one, a[z*na:(z+1)*na], b[z*nb:(z+1)*nb], got); err != nil {
			tb.Fatalf("Run product %d alone: %v", z, err)
		}
		for i, v := range got {
			if math.Float32bits(v) != math.Float32bits(c[z*nc+i]) {
				tb.Fatalf("%v %v: product %d element %d is %v batched, %v alone", op, s, z, i, c[z*nc+i], v)
			}
		}
	}
}

// TestBatchedSplit splits batches into many dispatches: one product per
// submission, bands of rows within a product, two products per
// submission, and a workgroup limit in z below the batch (the batch is
// then dispatched in parts, as a batch beyond 65535 products would be).
func TestBatchedSplit(t *testing.T) {
	s := kernel.Shape{Batch: 7, M: 70, K: 9, N: 11}
	for _, family := range shaders.Families {
		for _, tc := range []struct {
			name     string
			maxFLOPs float64
			groups   int
		}{
			{"RowBands", 1, 0},
			{"TwoProducts", 2 * 2 * 70 * 9 * 11, 0},
			{"GroupLimit", -1, 3},
		} {
			t.Run(family.String()+"/"+tc.name, func(t *testing.T) {
				d, err := gpu.Open(context.Background(), gpu.Options{Family: family, MaxSubmitFLOPs: tc.maxFLOPs})
				if err != nil {
					openDevice(t, family) // fails or skips with the usual message
					t.Fatalf("Open: %v", err)
				}
				defer d.Close()
				if tc.groups > 0 {
					gpu.SetGroupLimit(d, tc.groups)
				}
				for _, op := range kernel.Ops {
					a, b, c := operands(op, s, 9)
					for j := range c {
						c[j] = float32(math.NaN())
					}
					if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
						t.Fatalf("%v: Run: %v", op, err)
					}
					checkClose(t, op, s, a, b, c)
				}
			})
		}
	}
}
