package lm

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// pass is one forward (and possibly backward) pass over b sequences of
// length t: the inputs handed to tiles, and what the backward pass needs.
// Everything handed to a tile is fresh per pass and never written again.
type pass struct {
	ctx  context.Context
	exec tile.Executor
	l    *layout
	p    []float32
	b, t int
	m    int // b·t rows
	in   []byte
	// train: a backward pass follows (forward keeps what it needs).
	train bool
	// Per linear layer (by weight offset), its column tiles' weights.
	wts map[int][][]float32

	blocks []blockCache
	x      []float32 // the last block's output
	lnfXh  []float32
	lnfRs  []float32
	hf     []float32 // final LayerNorm's output, the LM head's input
	logits []float32 // m×Vocab
}

// blockCache is what one block's backward pass needs from its forward.
type blockCache struct {
	x        []float32 // block input
	h1       []float32 // ln_1 output
	xh1, rs1 []float32
	q, k, v  []float32
	probs    []float32
	a        []float32 // attention heads merged, c_proj's input
	x2       []float32 // after the attention residual
	h2       []float32
	xh2, rs2 []float32
	f        []float32 // c_fc output, before GELU; in a training pass, GELU's derivative there
	g        []float32 // after GELU, mlp.c_proj's input
}

func (ps *pass) weights(ln *linear) [][]float32 {
	if w, ok := ps.wts[ln.w]; ok {
		return w
	}
	w := ln.tileWeights(ps.p)
	ps.wts[ln.w] = w
	return w
}

// forward runs the model on tokens in (b×t) and leaves the logits.
func (ps *pass) forward() error {
	l, c := ps.l, ps.l.cfg
	d, H, hd, m, t := c.Embd, c.Heads, c.headDim(), ps.m, ps.t
	p := ps.p
	x := make([]float32, m*d)
	for r := range m {
		tok, pos := int(ps.in[r]), r%t
		row := x[r*d : (r+1)*d]
		copy(row, p[l.wte+tok*d:l.wte+(tok+1)*d])
		addInPlace(row, p[l.wpe+pos*d:l.wpe+(pos+1)*d])
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	ps.blocks = make([]blockCache, len(l.blocks))
	for i := range l.blocks {
		bl, bc := &l.blocks[i], &ps.blocks[i]
		bc.x = x
		bc.h1, bc.xh1, bc.rs1 = layerNorm(x, m, d, p[bl.ln1g:bl.ln1g+d], p[bl.ln1b:bl.ln1b+d])
		qkv, err := bl.attn.forward(ps.ctx, ps.exec, bc.h1, m, ps.weights(&bl.attn), nil, p)
		if err != nil {
			return fmt.Errorf("block %d c_attn: %w", i, err)
		}
		bc.q, bc.k, bc.v = splitHeads(qkv, ps.b, t, H, hd)
		n := ps.b * H
		s, wait := batched(ps.ctx, ps.exec, kernel.MatMulNT, n, c.AttnBatch, t, hd, t, bc.q, bc.k)
		if err := wait.Wait(ps.ctx); err != nil {
			return fmt.Errorf("block %d scores: %w", i, err)
		}
		bc.probs = causalSoftmax(s, n, t, scale)
		o, wait := batched(ps.ctx, ps.exec, kernel.MatMulNN, n, c.AttnBatch, t, t, hd, bc.probs, bc.v)
		if err := wait.Wait(ps.ctx); err != nil {
			return fmt.Errorf("block %d attention values: %w", i, err)
		}
		bc.a = mergeHeads(ps.b, t, H, hd, o)
		y, err := bl.proj.forward(ps.ctx, ps.exec, bc.a, m, ps.weights(&bl.proj), nil, p)
		if err != nil {
			return fmt.Errorf("block %d attn.c_proj: %w", i, err)
		}
		addInPlace(y, x)
		bc.x2 = y
		bc.h2, bc.xh2, bc.rs2 = layerNorm(bc.x2, m, d, p[bl.ln2g:bl.ln2g+d], p[bl.ln2b:bl.ln2b+d])
		if bc.f, err = bl.fc.forward(ps.ctx, ps.exec, bc.h2, m, ps.weights(&bl.fc), nil, p); err != nil {
			return fmt.Errorf("block %d mlp.c_fc: %w", i, err)
		}
		bc.g = make([]float32, len(bc.f))
		for k, v := range bc.f {
			y, th := geluTanh(v)
			bc.g[k] = y
			if ps.train {
				// f is needed only for GELU's derivative: keep that
				// instead, with the tanh just taken.
				bc.f[k] = geluGrad(v, th)
			}
		}
		y, err = bl.mproj.forward(ps.ctx, ps.exec, bc.g, m, ps.weights(&bl.mproj), nil, p)
		if err != nil {
			return fmt.Errorf("block %d mlp.c_proj: %w", i, err)
		}
		addInPlace(y, bc.x2)
		x = y
	}
	ps.x = x
	ps.hf, ps.lnfXh, ps.lnfRs = layerNorm(x, m, d, p[l.lnfg:l.lnfg+d], p[l.lnfb:l.lnfb+d])
	// LM head: logits = hf·wteᵀ, one NT tile per block of vocabulary rows.
	tiles := make([]*tile.Tile, len(l.head))
	for j, ht := range l.head {
		tiles[j] = &tile.Tile{Op: kernel.MatMulNT, Shape: kernel.Shape{M: m, K: d, N: ht.rows},
			A: ps.hf, B: p[l.wte+ht.row0*d : l.wte+(ht.row0+ht.rows)*d], C: make([]float32, m*ht.rows), Weight: ht.index}
	}
	if err := ps.exec.Start(ps.ctx, tiles).Wait(ps.ctx); err != nil {
		return fmt.Errorf("lm head: %w", err)
	}
	ps.logits = make([]float32, m*Vocab)
	for j, ht := range l.head {
		for r := range m {
			copy(ps.logits[r*Vocab+ht.row0:r*Vocab+ht.row0+ht.rows], tiles[j].C[r*ht.rows:(r+1)*ht.rows])
		}
	}
	return nil
}

// backward returns the gradient of the mean loss with respect to every
// parameter, given the gradient of the logits.
func (ps *pass) backward(dlogits []float32) ([]float32, error) {
	l, c := ps.l, ps.l.cfg
	d, H, hd, m, t := c.Embd, c.Heads, c.headDim(), ps.m, ps.t
	p := ps.p
	grad := make([]float32, l.n)
	var pending []pendingGrad
	// LM head: dhf = Σ_j dlogits_j·wte_j (NN); dwte_j = dlogits_jᵀ·hf (TN).
	dlt := make([][]float32, len(l.head))
	dh := make([]*tile.Tile, len(l.head))
	dw := make([]*tile.Tile, len(l.head))
	for j, ht := range l.head {
		dlt[j] = columns(dlogits, m, Vocab, ht.row0, ht.rows)
		dh[j] = &tile.Tile{Op: kernel.MatMulNN, Shape: kernel.Shape{M: m, K: ht.rows, N: d},
			A: dlt[j], B: p[l.wte+ht.row0*d : l.wte+(ht.row0+ht.rows)*d], C: make([]float32, m*d), Weight: ht.index}
		dw[j] = &tile.Tile{Op: kernel.MatMulTN, Shape: kernel.Shape{M: ht.rows, K: m, N: d},
			A: dlt[j], B: ps.hf, C: make([]float32, ht.rows*d), Weight: -1}
	}
	dhBatch := ps.exec.Start(ps.ctx, dh)
	pending = append(pending, pendingGrad{what: "lm head weight gradient", batch: ps.exec.Start(ps.ctx, dw), apply: func() {
		for j, ht := range l.head {
			addInPlace(grad[l.wte+ht.row0*d:l.wte+(ht.row0+ht.rows)*d], dw[j].C)
		}
	}})
	if err := dhBatch.Wait(ps.ctx); err != nil {
		return nil, fmt.Errorf("lm head input gradient: %w", err)
	}
	dhf := dh[0].C
	for _, tl := range dh[1:] {
		addInPlace(dhf, tl.C)
	}
	dx := layerNormBackward(dhf, ps.lnfXh, ps.lnfRs, m, d, p[l.lnfg:l.lnfg+d], grad[l.lnfg:l.lnfg+d], grad[l.lnfb:l.lnfb+d])

	scale := float32(1 / math.Sqrt(float64(hd)))
	n := ps.b * H
	for i := len(l.blocks) - 1; i >= 0; i-- {
		bl, bc := &l.blocks[i], &ps.blocks[i]
		name := fmt.Sprintf("block %d ", i)
		// MLP: x3 = x2 + c_proj(gelu(c_fc(ln_2(x2)))).
		dg, err := bl.mproj.backward(ps.ctx, ps.exec, bc.g, dx, m, ps.weights(&bl.mproj), grad, &pending, name+"mlp.c_proj")
		if err != nil {
			return nil, err
		}
		for k, d := range bc.f { // GELU's derivative (forward)
			dg[k] *= d
		}
		dh2, err := bl.fc.backward(ps.ctx, ps.exec, bc.h2, dg, m, ps.weights(&bl.fc), grad, &pending, name+"mlp.c_fc")
		if err != nil {
			return nil, err
		}
		dx2 := layerNormBackward(dh2, bc.xh2, bc.rs2, m, d, p[bl.ln2g:bl.ln2g+d], grad[bl.ln2g:bl.ln2g+d], grad[bl.ln2b:bl.ln2b+d])
		addInPlace(dx2, dx)
		// Attention: x2 = x + c_proj(attn(c_attn(ln_1(x)))).
		da, err := bl.proj.backward(ps.ctx, ps.exec, bc.a, dx2, m, ps.weights(&bl.proj), grad, &pending, name+"attn.c_proj")
		if err != nil {
			return nil, err
		}
		do := gatherHeads(da, d, 0, ps.b, t, H, hd)
		dp, wp := batched(ps.ctx, ps.exec, kernel.MatMulNT, n, c.AttnBatch, t, hd, t, do, bc.v)
		dv, wv := batched(ps.ctx, ps.exec, kernel.MatMulTN, n, c.AttnBatch, t, t, hd, bc.probs, do)
		if err := wp.Wait(ps.ctx); err != nil {
			return nil, fmt.Errorf("%sprobability gradient: %w", name, err)
		}
		ds := causalSoftmaxBackward(dp, bc.probs, n, t, scale)
		dq, wq := batched(ps.ctx, ps.exec, kernel.MatMulNN, n, c.AttnBatch, t, t, hd, ds, bc.k)
		dk, wk := batched(ps.ctx, ps.exec, kernel.MatMulTN, n, c.AttnBatch, t, t, hd, ds, bc.q)
		for j, w := range []*tile.Batch{wv, wq, wk} {
			if err := w.Wait(ps.ctx); err != nil {
				return nil, fmt.Errorf("%s%s gradient: %w", name, []string{"value", "query", "key"}[j], err)
			}
		}
		dqkv := mergeHeads(ps.b, t, H, hd, dq, dk, dv)
		dh1, err := bl.attn.backward(ps.ctx, ps.exec, bc.h1, dqkv, m, ps.weights(&bl.attn), grad, &pending, name+"attn.c_attn")
		if err != nil {
			return nil, err
		}
		dx = layerNormBackward(dh1, bc.xh1, bc.rs1, m, d, p[bl.ln1g:bl.ln1g+d], grad[bl.ln1g:bl.ln1g+d], grad[bl.ln1b:bl.ln1b+d])
		addInPlace(dx, dx2)
	}
	// Embeddings: the token and position rows each input row came from.
	for r := range m {
		tok, pos := int(ps.in[r]), r%t
		row := dx[r*d : (r+1)*d]
		addInPlace(grad[l.wte+tok*d:l.wte+(tok+1)*d], row)
		addInPlace(grad[l.wpe+pos*d:l.wpe+(pos+1)*d], row)
	}
	for _, pg := range pending {
		if err := pg.batch.Wait(ps.ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", pg.what, err)
		}
		pg.apply()
	}
	return grad, nil
}
