package train

import (
	"context"
	"slices"
	"testing"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// recorder is an executor that keeps the tiles it was given and computes
// them with the reference kernel.
type recorder struct{ got []*tile.Tile }

func (r *recorder) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	r.got = tiles
	return tile.NewLocal(1).Start(ctx, tiles)
}

// TestRoundOperands checks the bfloat16 executor: the tiles computed have
// rounded operands (a shared one rounded once, still shared), the callers'
// operands are untouched, a digest of B given before rounding is not
// passed on as the rounded B's, and the results land in the callers' tiles.
func TestRoundOperands(t *testing.T) {
	sh := kernel.Shape{M: 3, K: 5, N: 4}
	x := []float32{1.00390625, 2.0078125, 3, 4.001, 5, -1.2345, 0.1, 7, 8, 9, 10.01, 11, 12, 13, 14}
	w1, w2 := make([]float32, sh.BLen()), make([]float32, sh.BLen())
	for i := range w1 {
		w1[i], w2[i] = 1.0001+float32(i), -0.333*float32(i)
	}
	orig := slices.Clone(x)
	tiles := []*tile.Tile{
		{Op: kernel.MatMulNN, Shape: sh, A: x, B: w1, C: make([]float32, sh.CLen())},
		{Op: kernel.MatMulNN, Shape: sh, A: x, B: w2, C: make([]float32, sh.CLen()), BDigest: digest.Of(w2)},
	}
	rec := &recorder{}
	if roundOperands(rec, protocol.Float32) != tile.Executor(rec) {
		t.Fatal("float32 operands are wrapped")
	}
	if err := roundOperands(rec, protocol.BFloat16).Start(context.Background(), tiles).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, orig) {
		t.Error("the caller's operand was rounded in place")
	}
	if &rec.got[0].A[0] != &rec.got[1].A[0] {
		t.Error("the shared operand was rounded into two copies")
	}
	for i, tl := range tiles {
		a, b := slices.Clone(tl.A), slices.Clone(tl.B)
		kernel.RoundBF16(a)
		kernel.RoundBF16(b)
		if !slices.Equal(rec.got[i].A, a) || !slices.Equal(rec.got[i].B, b) {
			t.Errorf("tile %d computed on operands that are not the bfloat16 roundings", i)
		}
		if d := rec.got[i].BDigest; d != (digest.D{}) && d != digest.Of(rec.got[i].B) {
			t.Errorf("tile %d: the rounded B carries the digest of the unrounded one", i)
		}
		want := make([]float32, sh.CLen())
		kernel.Reference(tl.Op, sh, a, b, want)
		if !slices.Equal(tl.C, want) {
			t.Errorf("tile %d: C %v, want the product of the rounded operands %v", i, tl.C, want)
		}
	}
}
