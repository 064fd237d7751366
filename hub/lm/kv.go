package lm

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Inference through an Executor: Advance feeds new tokens to many
// sequences at once, each keeping its own keys and values (a KV cache),
// so that a token costs one row of work instead of a whole prefix's, and
// the rows of every sequence share the same tiles (continuous batching):
//
//   - the linear layers run once over the rows of all sequences together;
//   - a prompt's attention runs per group of sequences fed the same number
//     of tokens, as batched tiles over (sequence, head) with every
//     sequence's keys padded to the group's longest (masked out of the
//     softmax); decoding sequences, one token each, attend on the hub,
//     where their KV cache is (attendOne says why);
//   - the LM head runs on each sequence's last row only.
//
// Every product with the weights is a tile, as in training, so
// contributors compute them under the same verification and exposure
// rules.

// Sequence is one text being decoded: the keys and values of every layer
// for the positions fed so far.
type Sequence struct {
	k, v [][]float32 // per layer: [Heads][Context][headDim]
	n    int
}

// NewSequence returns an empty sequence for m.
func (m *Model) NewSequence() *Sequence {
	c := m.cfg
	s := &Sequence{k: make([][]float32, c.Layers), v: make([][]float32, c.Layers)}
	for i := range c.Layers {
		s.k[i] = make([]float32, c.Context*c.Embd)
		s.v[i] = make([]float32, c.Context*c.Embd)
	}
	return s
}

// Len returns the number of positions fed.
func (s *Sequence) Len() int { return s.n }

// Reset empties the sequence, keeping its memory.
func (s *Sequence) Reset() { s.n = 0 }

// Frozen returns a copy of m whose weights never change, so that the
// column tiles of its linear layers are cut once, with their digests,
// and reused by every Advance (and a contributor's operand cache
// recognizes them).
func (m *Model) Frozen() *Model {
	f := &Model{cfg: m.cfg, l: m.l, params: append([]float32(nil), m.params...)}
	ft := &frozenTiles{layers: map[int]layerTiles{}}
	for bi := range f.l.blocks {
		bl := &f.l.blocks[bi]
		for _, ln := range []*linear{&bl.attn, &bl.proj, &bl.fc, &bl.mproj} {
			lt := layerTiles{w: ln.tileWeights(f.params)}
			for _, w := range lt.w {
				lt.sums = append(lt.sums, digest.Of(w))
			}
			ft.layers[ln.w] = lt
		}
	}
	d := f.cfg.Embd
	for _, ht := range f.l.head {
		ft.head = append(ft.head, digest.Of(f.params[f.l.wte+ht.row0*d:f.l.wte+(ht.row0+ht.rows)*d]))
	}
	f.frozen = ft
	return f
}

// frozenTiles is a frozen model's tile weights by layer and their
// digests, which tell the hub the weights of a tile without hashing them
// for every task (hub.Task.BDigest). Made by Frozen, then only read.
type frozenTiles struct {
	layers map[int]layerTiles // by the layer's weight offset
	head   []digest.D         // the LM head's tiles (rows of wte)
}

// layerTiles is one linear layer's column tiles and their digests.
type layerTiles struct {
	w    [][]float32
	sums []digest.D
}

// tiles returns ln's column tiles and, if m is frozen, their digests
// (nil otherwise).
func (m *Model) tiles(ln *linear) ([][]float32, []digest.D) {
	if m.frozen == nil {
		return ln.tileWeights(m.params), nil
	}
	lt := m.frozen.layers[ln.w]
	return lt.w, lt.sums
}

// headSums returns the digests of the LM head's tiles, or nil unless m is
// frozen.
func (m *Model) headSums() []digest.D {
	if m.frozen == nil {
		return nil
	}
	return m.frozen.head
}

// Advance feeds chunks[i] to seqs[i] and returns, for each sequence, the
// logits (Vocab) of the token following its chunk. Every chunk must be
// non-empty and fit: seqs[i].Len()+len(chunks[i]) ≤ the context. A
// sequence is updated only if Advance succeeds; on error every sequence
// is as it was. Unless m is Frozen, it must not be trained meanwhile.
func (m *Model) Advance(ctx context.Context, exec tile.Executor, seqs []*Sequence, chunks [][]byte) ([][]float32, error) {
	c, l, p := m.cfg, m.l, m.params
	d, H, hd := c.Embd, c.Heads, c.headDim()
	if len(seqs) == 0 || len(seqs) != len(chunks) {
		return nil, fmt.Errorf("lm: %d sequences and %d chunks", len(seqs), len(chunks))
	}
	// Rows: every sequence's new tokens, one after the other.
	first := make([]int, len(seqs)+1) // row of each sequence's first token
	for i, s := range seqs {
		if len(chunks[i]) == 0 || s.n+len(chunks[i]) > c.Context {
			return nil, fmt.Errorf("lm: %d tokens after %d do not fit a context of %d", len(chunks[i]), s.n, c.Context)
		}
		first[i+1] = first[i] + len(chunks[i])
	}
	rows := first[len(seqs)]
	x := make([]float32, rows*d)
	for i, s := range seqs {
		for j, tok := range chunks[i] {
			row := x[(first[i]+j)*d : (first[i]+j+1)*d]
			copy(row, p[l.wte+int(tok)*d:l.wte+(int(tok)+1)*d])
			addInPlace(row, p[l.wpe+(s.n+j)*d:l.wpe+(s.n+j+1)*d])
		}
	}
	groups := groupByLength(chunks)
	// New keys and values go to scratch copies first, so that a failed
	// Advance leaves every sequence untouched.
	newK := make([][][]float32, len(seqs)) // [seq][layer]: rows×d
	newV := make([][][]float32, len(seqs))
	for i := range seqs {
		newK[i] = make([][]float32, c.Layers)
		newV[i] = make([][]float32, c.Layers)
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	for li := range l.blocks {
		bl := &l.blocks[li]
		h, _, _ := layerNorm(x, rows, d, p[bl.ln1g:bl.ln1g+d], p[bl.ln1b:bl.ln1b+d])
		w, sums := m.tiles(&bl.attn)
		qkv, err := bl.attn.forward(ctx, exec, h, rows, w, sums, p)
		if err != nil {
			return nil, fmt.Errorf("block %d c_attn: %w", li, err)
		}
		for i := range seqs {
			n := len(chunks[i])
			newK[i][li] = make([]float32, n*d)
			newV[i][li] = make([]float32, n*d)
			for j := range n {
				r := qkv[(first[i]+j)*3*d:]
				copy(newK[i][li][j*d:(j+1)*d], r[d:2*d])
				copy(newV[i][li][j*d:(j+1)*d], r[2*d:3*d])
			}
		}
		a, err := m.attend(ctx, exec, groups, seqs, chunks, first, li, qkv, newK, newV, scale)
		if err != nil {
			return nil, fmt.Errorf("block %d attention: %w", li, err)
		}
		w, sums = m.tiles(&bl.proj)
		y, err := bl.proj.forward(ctx, exec, a, rows, w, sums, p)
		if err != nil {
			return nil, fmt.Errorf("block %d attn.c_proj: %w", li, err)
		}
		addInPlace(y, x)
		x2 := y
		h2, _, _ := layerNorm(x2, rows, d, p[bl.ln2g:bl.ln2g+d], p[bl.ln2b:bl.ln2b+d])
		w, sums = m.tiles(&bl.fc)
		f, err := bl.fc.forward(ctx, exec, h2, rows, w, sums, p)
		if err != nil {
			return nil, fmt.Errorf("block %d mlp.c_fc: %w", li, err)
		}
		for k, v := range f {
			f[k] = gelu(v)
		}
		w, sums = m.tiles(&bl.mproj)
		y, err = bl.mproj.forward(ctx, exec, f, rows, w, sums, p)
		if err != nil {
			return nil, fmt.Errorf("block %d mlp.c_proj: %w", li, err)
		}
		addInPlace(y, x2)
		x = y
	}
	// The LM head on each sequence's last row.
	last := make([]float32, len(seqs)*d)
	for i := range seqs {
		copy(last[i*d:(i+1)*d], x[(first[i+1]-1)*d:first[i+1]*d])
	}
	hf, _, _ := layerNorm(last, len(seqs), d, p[l.lnfg:l.lnfg+d], p[l.lnfb:l.lnfb+d])
	tiles := make([]*tile.Tile, len(l.head))
	sums := m.headSums()
	for j, ht := range l.head {
		tiles[j] = &tile.Tile{Op: kernel.MatMulNT, Shape: kernel.Shape{M: len(seqs), K: d, N: ht.rows},
			A: hf, B: p[l.wte+ht.row0*d : l.wte+(ht.row0+ht.rows)*d], C: make([]float32, len(seqs)*ht.rows), Weight: ht.index}
		if sums != nil {
			tiles[j].BDigest = sums[j]
		}
	}
	if err := exec.Start(ctx, tiles).Wait(ctx); err != nil {
		return nil, fmt.Errorf("lm head: %w", err)
	}
	out := make([][]float32, len(seqs))
	for i := range seqs {
		out[i] = make([]float32, Vocab)
		for j, ht := range l.head {
			copy(out[i][ht.row0:ht.row0+ht.rows], tiles[j].C[i*ht.rows:(i+1)*ht.rows])
		}
	}
	// Success: the new keys and values join the caches.
	for i, s := range seqs {
		for li := range l.blocks {
			storeHeads(s.k[li], newK[i][li], s.n, len(chunks[i]), c.Context, H, hd)
			storeHeads(s.v[li], newV[i][li], s.n, len(chunks[i]), c.Context, H, hd)
		}
		s.n += len(chunks[i])
	}
	return out, nil
}

// groupByLength lists the indices of the chunks of each length, in order
// of first appearance.
func groupByLength(chunks [][]byte) [][]int {
	at := map[int]int{}
	var groups [][]int
	for i, ch := range chunks {
		g, ok := at[len(ch)]
		if !ok {
			g = len(groups)
			at[len(ch)] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// storeHeads writes n rows of keys or values (n×d, heads side by side)
// into a cache laid out [heads][ctx][hd] from position pos.
func storeHeads(cache, rows []float32, pos, n, ctx, heads, hd int) {
	d := heads * hd
	for j := range n {
		for h := range heads {
			copy(cache[(h*ctx+pos+j)*hd:(h*ctx+pos+j+1)*hd], rows[j*d+h*hd:j*d+(h+1)*hd])
		}
	}
}

// attend computes layer li's attention output (rows×d, heads side by
// side) for every sequence: per group of equal chunk length n > 1 (a
// prompt), the scores Q·Kᵀ and the output P·V as batched tiles over
// (sequence, head) pairs, keys and values padded to the group's longest
// sequence. Decoding sequences (n = 1) attend on the hub (attendOne).
func (m *Model) attend(ctx context.Context, exec tile.Executor, groups [][]int, seqs []*Sequence, chunks [][]byte,
	first []int, li int, qkv []float32, newK, newV [][][]float32, scale float32) ([]float32, error) {
	c := m.cfg
	d, H, hd := c.Embd, c.Heads, c.headDim()
	type work struct {
		idx     []int
		n, L    int
		kp, vp  []float32
		scores  []float32
		waitS   *tile.Batch
		out     []float32
		waitOut *tile.Batch
	}
	a := make([]float32, first[len(seqs)]*d)
	var ws []*work
	for _, idx := range groups {
		if len(chunks[idx[0]]) == 1 {
			// Decoding: one query row per sequence against its cache.
			m.attendOne(idx, seqs, first, li, qkv, newK, newV, scale, a)
			continue
		}
		w := &work{idx: idx, n: len(chunks[idx[0]])}
		for _, i := range idx {
			w.L = max(w.L, seqs[i].n+w.n)
		}
		count := len(idx) * H
		q := make([]float32, count*w.n*hd)
		w.kp = make([]float32, count*w.L*hd)
		w.vp = make([]float32, count*w.L*hd)
		for si, i := range idx {
			s := seqs[i]
			for h := range H {
				z := si*H + h
				for j := range w.n {
					copy(q[(z*w.n+j)*hd:(z*w.n+j+1)*hd], qkv[(first[i]+j)*3*d+h*hd:(first[i]+j)*3*d+(h+1)*hd])
				}
				kz, vz := w.kp[z*w.L*hd:], w.vp[z*w.L*hd:]
				copy(kz[:s.n*hd], s.k[li][h*c.Context*hd:(h*c.Context+s.n)*hd])
				copy(vz[:s.n*hd], s.v[li][h*c.Context*hd:(h*c.Context+s.n)*hd])
				for j := range w.n {
					copy(kz[(s.n+j)*hd:(s.n+j+1)*hd], newK[i][li][j*d+h*hd:j*d+(h+1)*hd])
					copy(vz[(s.n+j)*hd:(s.n+j+1)*hd], newV[i][li][j*d+h*hd:j*d+(h+1)*hd])
				}
			}
		}
		w.scores, w.waitS = batched(ctx, exec, kernel.MatMulNT, count, c.AttnBatch, w.n, hd, w.L, q, w.kp)
		ws = append(ws, w)
	}
	for _, w := range ws {
		if err := w.waitS.Wait(ctx); err != nil {
			return nil, fmt.Errorf("scores: %w", err)
		}
		probs := make([]float32, len(w.scores))
		for si, i := range w.idx {
			for h := range H {
				z := si*H + h
				for j := range w.n {
					r := (z*w.n + j) * w.L
					softmaxPrefix(w.scores[r:r+w.L], probs[r:r+w.L], seqs[i].n+j+1, scale)
				}
			}
		}
		w.out, w.waitOut = batched(ctx, exec, kernel.MatMulNN, len(w.idx)*H, c.AttnBatch, w.n, w.L, hd, probs, w.vp)
	}
	for _, w := range ws {
		if err := w.waitOut.Wait(ctx); err != nil {
			return nil, fmt.Errorf("values: %w", err)
		}
		for si, i := range w.idx {
			for h := range H {
				z := si*H + h
				for j := range w.n {
					copy(a[(first[i]+j)*d+h*hd:(first[i]+j)*d+(h+1)*hd], w.out[(z*w.n+j)*hd:(z*w.n+j+1)*hd])
				}
			}
		}
	}
	return a, nil
}

// attendOne computes, on the hub, the attention of the sequences in idx,
// each fed one token, into a. Their keys and values are the KV cache: a
// tile would ship the whole cache every step for 2·L·d multiply-adds per
// head row, about one FLOP per byte sent, while the cache is already
// here. The linear layers, where the weights and nearly all the FLOPs
// are, still go to contributors (RATIONALE.md).
func (m *Model) attendOne(idx []int, seqs []*Sequence, first []int, li int, qkv []float32, newK, newV [][][]float32, scale float32, a []float32) {
	c := m.cfg
	d, H, hd := c.Embd, c.Heads, c.headDim()
	for _, i := range idx {
		s := seqs[i]
		L := s.n + 1
		scores := make([]float32, L)
		probs := make([]float32, L)
		row := first[i]
		for h := range H {
			q := qkv[row*3*d+h*hd : row*3*d+(h+1)*hd]
			key := func(j int) []float32 {
				if j == s.n {
					return newK[i][li][h*hd : (h+1)*hd]
				}
				return s.k[li][(h*c.Context+j)*hd : (h*c.Context+j+1)*hd]
			}
			for j := range L {
				var dot float32
				for k, kv := range key(j) {
					dot += q[k] * kv
				}
				scores[j] = dot
			}
			softmaxPrefix(scores, probs, L, scale)
			out := a[row*d+h*hd : row*d+(h+1)*hd]
			for j := range L {
				v := newV[i][li][h*hd : (h+1)*hd]
				if j < s.n {
					v = s.v[li][(h*c.Context+j)*hd : (h*c.Context+j+1)*hd]
				}
				p := probs[j]
				for k, vv := range v {
					out[k] += p * vv
				}
			}
		}
	}
}
