package train

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Recovery per block (with Spec.OrdinaryKeepers). Ordinary keepers come
// and go, a browser tab with every closed lid, so losing one must not send
// the whole job back to its anchor, redoing every keeper's steps (a
// denial of service anyone could cause by leaving). Instead only the
// block it kept is lost, and the hub rebuilds it exactly:
//
//   - The hub keeps, from the anchor on, what every update was made from:
//     each layer's input X and output gradient dY of every step (history).
//     A block's weights at any step are its base (the weights and momentum
//     when it was installed, or at the last hand-back) plus the SGD steps
//     Xᵀ·dY since, which the hub replays on its own CPU (catchUp).
//   - A block whose keeper is lost (its tasks fail with hub.ErrKeptLost:
//     the keeper left, was struck, or nobody can run its tasks) is held by
//     the hub from then on: the products the step still needs from it are
//     computed on the hub with the rebuilt weights, and its update is
//     replayed from the history. The other blocks go on; the step is not
//     redone.
//   - At the next step the hub places a held block again, whole, at an
//     ordinary contributor that may keep it (placement.go), from the
//     rebuilt weights; until one can take it, the hub computes its share
//     of each step. When every block is held the rebuilt weights become
//     the anchor and the job plans afresh (or trains the ordinary way).
//   - At a hand-back the held blocks' rebuilt weights join the handed
//     back ones, and any held block is placed afresh with the rest.
//
// The keeper's own updates are never used: a keeper struck for a wrong
// update costs its block's replay, and its products that passed their
// checks before it was caught stay in the step they served (they agreed
// with the right weights within the checks' tolerance, as any product
// that passes; measured, the run then ends within 4e-4 of the local
// reference's weights, against 1.2e-4 of rounding alone). A keeper that
// left keeps its unchecked updates' credit pending, as when any Kept ends
// (resident.go in package hub); a struck one has it voided by the strike.
//
// An own worker's whole layers, in a job with ordinary keepers, are
// recovered the same way; they are placed again only at an ordinary
// contributor, so until the next hand-back the hub may compute them. The
// history costs the job's batch times its layer widths per step; a job
// whose history between hand-backs would pass maxHistoryBytes goes back
// to its anchor instead.

// stepRecord is what one step's updates were made from: each layer's
// input (M×in) and output gradient (M×out).
type stepRecord struct{ a, dz [][]float32 }

// maxHistoryBytes bounds the history a job keeps between hand-backs.
const maxHistoryBytes = 256 << 20

// historyBytes is the history of every steps of an MLP of widths with
// batches of batch rows.
func historyBytes(widths []int, batch, every int) int64 {
	var per int64
	for l := 0; l+1 < len(widths); l++ {
		per += int64(batch) * int64(widths[l]+widths[l+1])
	}
	return 4 * per * int64(every)
}

// record adds the step just trained to the history.
func (r *residentMode) record(rec stepRecord) {
	if r.recovery {
		r.history = append(r.history, rec)
	}
}

// hold makes block j of layer l the hub's: its Kept is released and its
// weights are rebuilt up to the trainer's step (the one before the step
// in progress).
func (r *residentMode) hold(t *Trainer, l, j int) error {
	rt := r.blocks[l][j]
	if rt.held {
		return nil
	}
	rt.kept.Release()
	rt.held = true
	rt.w, rt.v, rt.at = slices.Clone(rt.baseW), slices.Clone(rt.baseV), rt.from
	r.recovered.Add(1)
	return r.catchUp(rt, &t.m.layers[l], l, t.step)
}

// catchUp replays the SGD updates of held block rt of layer l from its
// step to step, from the history.
func (r *residentMode) catchUp(rt *residentTile, ly *layer, l, step int) error {
	part := weightTile{width: rt.blk.width(), pieces: rt.blk.tiles}
	for rt.at < step {
		i := rt.at - r.histFrom
		if i < 0 || i >= len(r.history) {
			return fmt.Errorf("resident recovery: no record of step %d (records of steps %d to %d)", rt.at+1, r.histFrom+1, r.histFrom+len(r.history))
		}
		rec := r.history[i]
		m := len(rec.a[l]) / ly.in
		x, dy := r.sent(rec.a[l]), r.sent(columns(rec.dz[l], m, ly.out, part))
		grad := make([]float32, ly.in*part.width)
		if err := kernel.Reference(kernel.MatMulTN, kernel.Shape{M: ly.in, K: m, N: part.width}, x, dy, grad); err != nil {
			return err
		}
		if err := kernel.MomentumStep(rt.w, rt.v, grad, r.lr, r.mu); err != nil {
			return err
		}
		rt.at++
	}
	return nil
}

// sent returns v as a keeper received it: v itself, or with bfloat16
// operands a rounded copy (a keeper's own matrices are kept in float32).
func (r *residentMode) sent(v []float32) []float32 {
	if !r.round {
		return v
	}
	c := slices.Clone(v)
	kernel.RoundBF16(c)
	return c
}

// find returns the layer and index of the block kept as k (-1, -1: none).
func (r *residentMode) find(k *hub.Kept) (l, j int) {
	for l, bs := range r.blocks {
		for j, rt := range bs {
			if rt.kept == k {
				return l, j
			}
		}
	}
	return -1, -1
}

// withBlock makes tl a product with block j of layer l (op as in
// product): with the kept matrix, or, for a held block, with the hub's
// rebuilt weights, computed on the hub.
func (r *residentMode) withBlock(tl *tile.Tile, l, j int, op kernel.Op) {
	tl.Weight = -1
	if rt := r.blocks[l][j]; rt.held {
		tl.A, tl.B = r.sent(tl.A), rt.w
		return
	}
	tl.Resident = r.product(l, j, op)
}

// start starts tiles of a resident step: those of held blocks (which carry
// their weights, not a Resident) on the hub, the rest on exec.
func (r *residentMode) start(ctx context.Context, exec tile.Executor, tiles []*tile.Tile) *tile.Batch {
	var remote, local []*tile.Tile
	for _, tl := range tiles {
		if tl.Resident == nil {
			local = append(local, tl)
		} else {
			remote = append(remote, tl)
		}
	}
	if len(local) == 0 {
		return exec.Start(ctx, remote)
	}
	// Both start now, in the caller's order: a keeper runs its tasks in
	// the order they are queued, and an update queued before a product
	// would change the weights the product must use.
	b := tile.NewBatch(2)
	for _, started := range []*tile.Batch{exec.Start(ctx, remote), r.local.Start(ctx, local)} {
		go func() { b.Complete(started.Wait(ctx)) }()
	}
	return b
}

// recover handles err, the outcome of tiles of a resident step: with
// recovery on, the blocks whose keepers were lost are held, their
// products computed on the hub (their updates are replayed later), and
// the outcome is theirs; any other failure is returned as it is.
func (r *residentMode) recover(ctx context.Context, t *Trainer, tiles []*tile.Tile, err error) error {
	if err == nil || !r.recovery || !errors.Is(err, hub.ErrKeptLost) {
		return err
	}
	var redo []*tile.Tile
	found := false
	for _, tl := range tiles {
		if tl.Err == nil {
			continue
		}
		found = true
		if !errors.Is(tl.Err, hub.ErrKeptLost) || tl.Resident == nil {
			return tl.Err
		}
		l, j := r.find(tl.Resident.Kept)
		if l < 0 {
			return tl.Err
		}
		if err := r.hold(t, l, j); err != nil {
			return err
		}
		update := tl.Resident.Update.Mode != protocol.ResidentNone
		tl.Err, tl.Resident = nil, nil
		if !update {
			tl.A, tl.B = r.sent(tl.A), r.blocks[l][j].w
			redo = append(redo, tl)
		}
	}
	if !found { // the executor did not say which tiles failed
		return err
	}
	return r.local.Start(ctx, redo).Wait(ctx)
}

// anyHeld and allHeld report whether some, or every, block is held.
func (r *residentMode) anyHeld() bool {
	for _, bs := range r.blocks {
		for _, rt := range bs {
			if rt.held {
				return true
			}
		}
	}
	return false
}

func (r *residentMode) allHeld() bool {
	for _, bs := range r.blocks {
		for _, rt := range bs {
			if !rt.held {
				return false
			}
		}
	}
	return true
}

// replace, at the start of a step, holds the blocks whose Kept was lost
// since the last step, and places each held block again, whole, at an
// ordinary contributor that may keep it; a block nobody can take stays
// held, rebuilt up to the trainer's step, and the hub computes its share.
func (r *residentMode) replace(t *Trainer) error {
	if !r.recovery {
		return nil
	}
	for l, bs := range r.blocks {
		for j, rt := range bs {
			if !rt.held && t.keeper != nil && t.keeper.Strand(rt.kept) {
				if err := r.hold(t, l, j); err != nil {
					return err
				}
			}
		}
	}
	if !r.anyHeld() {
		return nil
	}
	var cs []*cand
	if t.keeper != nil {
		cs = candidates(t.keeper.Holders())
	}
	fractions := t.TileFractions()
	for l, bs := range r.blocks {
		ly := &t.m.layers[l]
		for _, rt := range bs {
			if !rt.held {
				continue
			}
			if err := r.catchUp(rt, ly, l, t.step); err != nil {
				return err
			}
			trial := candidatesOf(cs)
			placed, ok := placeTiles(trial, ly, rt.blk.tiles, fractions)
			if !ok || len(placed) != 1 {
				continue // not whole at one address: the hub keeps it
			}
			cs = trial
			b := placed[0]
			if err := t.keeper.Reserve(b.addr, b.indices()); err != nil {
				return err
			}
			if err := r.installBlock(rt, ly, l, b, t.seed, t.step, slices.Clone(rt.w), slices.Clone(rt.v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle makes the held blocks' rebuilt weights, when every block is
// held, the trainer's and the anchor, and forgets the blocks: the next
// step plans afresh.
func (r *residentMode) settle(t *Trainer) error {
	s := t.opt.(*sgd)
	vel := slices.Clone(s.vel)
	params := slices.Clone(t.params)
	for l, bs := range r.blocks {
		ly := &t.m.layers[l]
		for _, rt := range bs {
			if err := r.catchUp(rt, ly, l, t.step); err != nil {
				return err
			}
			scatterBlock(params, ly, rt.blk, rt.w)
			scatterBlock(vel, ly, rt.blk, rt.v)
		}
	}
	t.params, s.vel = params, vel
	r.anchor(t)
	r.forget()
	return nil
}
