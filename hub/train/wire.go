package train

import (
	"context"
	"slices"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// roundOperands returns exec, or for enc bfloat16 an executor that rounds
// every tile's operands to bfloat16 before exec computes them: the job's
// spec says its operands travel so (Spec.WireDType), and a local run
// rounds exactly as a distributed one does, so the two still agree step
// for step.
func roundOperands(exec tile.Executor, enc protocol.Encoding) tile.Executor {
	if enc != protocol.BFloat16 {
		return exec
	}
	return rounding{exec}
}

// rounding is roundOperands' executor.
type rounding struct{ next tile.Executor }

// Start hands next copies of the tiles whose operands are rounded copies
// (an operand shared by several tiles is rounded once and stays shared,
// so that the hub sends it once); results land in the tiles' own C, and
// a copy's failure (Tile.Err) in its tile's.
func (r rounding) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	done := map[*float32][]float32{}
	round := func(v []float32) []float32 {
		if len(v) == 0 {
			return v
		}
		if c, ok := done[&v[0]]; ok && len(c) == len(v) {
			return c
		}
		c := slices.Clone(v)
		kernel.RoundBF16(c)
		done[&v[0]] = c
		return c
	}
	out := make([]*tile.Tile, len(tiles))
	for i, t := range tiles {
		c := *t
		c.A, c.B = round(t.A), round(t.B)
		c.BDigest = digest.D{} // the digest was of B before rounding
		out[i] = &c
	}
	inner := r.next.Start(ctx, out)
	b := tile.NewBatch(1)
	go func() {
		err := inner.Wait(ctx)
		if err != nil && ctx.Err() == nil { // every copy is done
			for i, c := range out {
				tiles[i].Err = c.Err
			}
		}
		b.Complete(err)
	}()
	return b
}
