package lm

import (
	"context"
	"fmt"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// tileWeights copies each column tile of the layer's weights out of p into
// a contiguous in×width block, the operand a tile task carries. The copies
// are made once per step and shared by the forward and backward tiles.
func (ln *linear) tileWeights(p []float32) [][]float32 {
	w := p[ln.w : ln.w+ln.in*ln.out]
	out := make([][]float32, len(ln.tiles))
	for j, t := range ln.tiles {
		blk := make([]float32, ln.in*t.width)
		for r := range ln.in {
			copy(blk[r*t.width:(r+1)*t.width], w[r*ln.out+t.col0:r*ln.out+t.col0+t.width])
		}
		out[j] = blk
	}
	return out
}

// forward computes y = x·W + b for x (m×in): one NN tile per column tile.
func (ln *linear) forward(ctx context.Context, exec tile.Executor, x []float32, m int, wt [][]float32, sums []digest.D, p []float32) ([]float32, error) {
	tiles := make([]*tile.Tile, len(ln.tiles))
	for j, t := range ln.tiles {
		tiles[j] = &tile.Tile{Op: kernel.MatMulNN, Shape: kernel.Shape{M: m, K: ln.in, N: t.width},
			A: x, B: wt[j], C: make([]float32, m*t.width), Weight: t.index}
		if sums != nil {
			tiles[j].BDigest = sums[j]
		}
	}
	if err := exec.Start(ctx, tiles).Wait(ctx); err != nil {
		return nil, err
	}
	y := make([]float32, m*ln.out)
	for j, t := range ln.tiles {
		c := tiles[j].C
		for r := range m {
			copy(y[r*ln.out+t.col0:r*ln.out+t.col0+t.width], c[r*t.width:(r+1)*t.width])
		}
	}
	addBias(y, m, ln.out, p[ln.b:ln.b+ln.out])
	return y, nil
}

// pendingGrad is a group of weight-gradient tiles still running and what
// to do with their results; only the optimizer waits for them.
type pendingGrad struct {
	what  string
	batch *tile.Batch
	apply func()
}

// backward returns dx (m×in) for dy (m×out) and queues the weight
// gradient (dW = xᵀ·dy, one TN tile per column tile, added into grad) on
// pending. The bias gradient is added at once. The input-gradient tiles
// (dx = Σ_j dy_j·W_jᵀ, NT) go first: they are on the critical path.
func (ln *linear) backward(ctx context.Context, exec tile.Executor, x, dy []float32, m int, wt [][]float32,
	grad []float32, pending *[]pendingGrad, name string) ([]float32, error) {
	dyt := make([][]float32, len(ln.tiles))
	for j, t := range ln.tiles {
		dyt[j] = columns(dy, m, ln.out, t.col0, t.width)
	}
	dx := make([]*tile.Tile, len(ln.tiles))
	for j, t := range ln.tiles {
		dx[j] = &tile.Tile{Op: kernel.MatMulNT, Shape: kernel.Shape{M: m, K: t.width, N: ln.in},
			A: dyt[j], B: wt[j], C: make([]float32, m*ln.in), Weight: t.index}
	}
	dxBatch := exec.Start(ctx, dx)
	dw := make([]*tile.Tile, len(ln.tiles))
	for j, t := range ln.tiles {
		dw[j] = &tile.Tile{Op: kernel.MatMulTN, Shape: kernel.Shape{M: ln.in, K: m, N: t.width},
			A: x, B: dyt[j], C: make([]float32, ln.in*t.width), Weight: -1}
	}
	*pending = append(*pending, pendingGrad{what: name + " weight gradient", batch: exec.Start(ctx, dw), apply: func() {
		g := grad[ln.w : ln.w+ln.in*ln.out]
		for j, t := range ln.tiles {
			c := dw[j].C
			for r := range ln.in {
				addInPlace(g[r*ln.out+t.col0:r*ln.out+t.col0+t.width], c[r*t.width:(r+1)*t.width])
			}
		}
	}})
	sumRows(dy, m, ln.out, grad[ln.b:ln.b+ln.out])
	if err := dxBatch.Wait(ctx); err != nil {
		return nil, fmt.Errorf("%s input gradient: %w", name, err)
	}
	// Σ of the partials in tile order, so every executor sums alike.
	out := dx[0].C
	for _, t := range dx[1:] {
		addInPlace(out, t.C)
	}
	return out, nil
}

// columns copies columns [c0, c0+w) of the m×n matrix x into an m×w one.
func columns(x []float32, m, n, c0, w int) []float32 {
	out := make([]float32, m*w)
	for r := range m {
		copy(out[r*w:(r+1)*w], x[r*n+c0:r*n+c0+w])
	}
	return out
}
