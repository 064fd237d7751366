package lm

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// tensor is one named parameter tensor inside the flat parameter vector.
type tensor struct {
	name  string // Hugging Face GPT-2 name
	shape []int
	off   int
	n     int
	decay bool // AdamW weight decay applies (matrices, not biases or gains)
}

// linear is a fully connected layer y = x·W + b with W stored (in, out)
// row-major, as GPT-2's Conv1D does, cut into column tiles for the work.
type linear struct {
	in, out int
	w, b    int // offsets of W and b in the parameter vector
	tiles   []colTile
}

// colTile is one block of a linear layer's output columns.
type colTile struct {
	index int // global weight tile index (the exposure unit)
	col0  int
	width int
}

// rowTile is one block of rows of the token embedding, the LM head's tile.
type rowTile struct {
	index int
	row0  int
	rows  int
}

// block is one transformer block's parameters.
type block struct {
	ln1g, ln1b int
	attn       linear // c_attn: d → 3d (q, k, v)
	proj       linear // attn.c_proj: d → d
	ln2g, ln2b int
	fc         linear // mlp.c_fc: d → 4d
	mproj      linear // mlp.c_proj: 4d → d
}

// layout places every parameter of a Config in one flat vector, in the
// order of GPT-2's state dict.
type layout struct {
	cfg        Config
	tensors    []tensor
	n          int
	wte, wpe   int
	blocks     []block
	lnfg, lnfb int
	head       []rowTile
	tileElems  []int // elements per global weight tile
}

func newLayout(c Config) *layout {
	l := &layout{cfg: c}
	d := c.Embd
	add := func(name string, decay bool, shape ...int) int {
		n := 1
		for _, s := range shape {
			n *= s
		}
		off := l.n
		l.tensors = append(l.tensors, tensor{name: name, shape: shape, off: off, n: n, decay: decay})
		l.n += n
		return off
	}
	lin := func(prefix string, in, out int) linear {
		ln := linear{in: in, out: out}
		ln.w = add(prefix+".weight", true, in, out)
		ln.b = add(prefix+".bias", false, out)
		for c0 := 0; c0 < out; c0 += c.TileCols {
			w := min(c.TileCols, out-c0)
			ln.tiles = append(ln.tiles, colTile{index: len(l.tileElems), col0: c0, width: w})
			l.tileElems = append(l.tileElems, in*w)
		}
		return ln
	}
	l.wte = add("transformer.wte.weight", true, Vocab, d)
	l.wpe = add("transformer.wpe.weight", true, c.Context, d)
	for r0 := 0; r0 < Vocab; r0 += c.TileCols {
		rows := min(c.TileCols, Vocab-r0)
		l.head = append(l.head, rowTile{index: len(l.tileElems), row0: r0, rows: rows})
		l.tileElems = append(l.tileElems, rows*d)
	}
	for i := range c.Layers {
		p := "transformer.h." + strconv.Itoa(i)
		var b block
		b.ln1g = add(p+".ln_1.weight", false, d)
		b.ln1b = add(p+".ln_1.bias", false, d)
		b.attn = lin(p+".attn.c_attn", d, 3*d)
		b.proj = lin(p+".attn.c_proj", d, d)
		b.ln2g = add(p+".ln_2.weight", false, d)
		b.ln2b = add(p+".ln_2.bias", false, d)
		b.fc = lin(p+".mlp.c_fc", d, 4*d)
		b.mproj = lin(p+".mlp.c_proj", 4*d, d)
		l.blocks = append(l.blocks, b)
	}
	l.lnfg = add("transformer.ln_f.weight", false, d)
	l.lnfb = add("transformer.ln_f.bias", false, d)
	return l
}

// tileFractions returns each weight tile's share of all parameters.
func (l *layout) tileFractions() []float64 {
	f := make([]float64, len(l.tileElems))
	for i, e := range l.tileElems {
		f[i] = float64(e) / float64(l.n)
	}
	return f
}

// init fills p as GPT-2 initializes: normal(0, 0.02) weights and
// embeddings, the residual projections scaled by 1/√(2·layers), zero
// biases, unit LayerNorm gains.
func (l *layout) init(p []float32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6770_7432))
	normal := func(off, n int, std float64) {
		for i := range n {
			p[off+i] = float32(rng.NormFloat64() * std)
		}
	}
	ones := func(off, n int) {
		for i := range n {
			p[off+i] = 1
		}
	}
	d := l.cfg.Embd
	resid := 0.02 / math.Sqrt(2*float64(l.cfg.Layers))
	normal(l.wte, Vocab*d, 0.02)
	normal(l.wpe, l.cfg.Context*d, 0.01)
	for _, b := range l.blocks {
		ones(b.ln1g, d)
		clear(p[b.ln1b : b.ln1b+d])
		ones(b.ln2g, d)
		clear(p[b.ln2b : b.ln2b+d])
		for _, ln := range []linear{b.attn, b.proj, b.fc, b.mproj} {
			std := 0.02
			if ln.w == b.proj.w || ln.w == b.mproj.w {
				std = resid
			}
			normal(ln.w, ln.in*ln.out, std)
			clear(p[ln.b : ln.b+ln.out])
		}
	}
	ones(l.lnfg, d)
	clear(p[l.lnfb : l.lnfb+d])
}
