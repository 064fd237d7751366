package lm

import (
	"context"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Attention works on per-(sequence, head) matrices stored one after the
// other: q, k, v and the output are [b·heads][t][hd], scores and
// probabilities [b·heads][t][t]. Product z is sequence z / heads, head
// z % heads, so a batched tile over a range of z is one contiguous slice
// of each operand.

// splitHeads gathers q, k and v from qkv (b·t rows of 3d: q | k | v, each
// d = heads·hd wide) into the per-head layout.
func splitHeads(qkv []float32, b, t, heads, hd int) (q, k, v []float32) {
	d := heads * hd
	return gatherHeads(qkv, 3*d, 0, b, t, heads, hd), gatherHeads(qkv, 3*d, d, b, t, heads, hd),
		gatherHeads(qkv, 3*d, 2*d, b, t, heads, hd)
}

// gatherHeads copies columns [col0, col0+heads·hd) of x (b·t rows of
// width) into the per-head layout [b·heads][t][hd].
func gatherHeads(x []float32, width, col0, b, t, heads, hd int) []float32 {
	out := make([]float32, b*t*heads*hd)
	for s := range b {
		for i := range t {
			row := x[(s*t+i)*width+col0:]
			for h := range heads {
				dst := ((s*heads+h)*t + i) * hd
				copy(out[dst:dst+hd], row[h*hd:(h+1)*hd])
			}
		}
	}
	return out
}

// mergeHeads writes the per-head matrices xs (each [b·heads][t][hd]) side
// by side into rows of width len(xs)·d: the inverse of splitHeads for
// three inputs, and the attention output's head concatenation for one.
func mergeHeads(b, t, heads, hd int, xs ...[]float32) []float32 {
	d := heads * hd
	w := len(xs) * d
	out := make([]float32, b*t*w)
	for s := range b {
		for i := range t {
			row := out[(s*t+i)*w:]
			for h := range heads {
				src := ((s*heads+h)*t + i) * hd
				for n, x := range xs {
					copy(row[n*d+h*hd:n*d+(h+1)*hd], x[src:src+hd])
				}
			}
		}
	}
	return out
}

// batched starts count independent products op(A_z)·op(B_z), each with
// dimensions M, K, N, as tiles of up to per products each. The result
// holds the count C matrices one after the other once the batch is done.
func batched(ctx context.Context, exec tile.Executor, op kernel.Op, count, per, M, K, N int, a, b []float32) ([]float32, *tile.Batch) {
	c := make([]float32, count*M*N)
	na, nb, nc := M*K, K*N, M*N
	var tiles []*tile.Tile
	for z0 := 0; z0 < count; z0 += per {
		n := min(per, count-z0)
		tiles = append(tiles, &tile.Tile{Op: op, Shape: kernel.Shape{Batch: n, M: M, K: K, N: N},
			A: a[z0*na : (z0+n)*na], B: b[z0*nb : (z0+n)*nb], C: c[z0*nc : (z0+n)*nc], Weight: -1})
	}
	return c, exec.Start(ctx, tiles)
}
