package train

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// layer is one fully connected layer, its weight matrix (in×out) stored as
// column tiles: tile j holds columns [col0, col0+width) as a contiguous
// in×width row-major block. Tiles are the unit of work and of exposure.
type layer struct {
	in, out int
	tiles   []weightTile
	bias    int // offset of the out biases in the parameter vector
}

// weightTile is one column block of a layer's weights. As a part of a
// step with resident weights (residentMode.parts) it is a kept block:
// pieces lists the layer's tiles whose columns it is made of, one after
// the other, and col0 is unused.
type weightTile struct {
	index  int // global index among all weight tiles
	col0   int
	width  int
	offset int // into the parameter vector
	pieces []weightTile
}

// each calls f for each run of the layer's columns that wt covers: the
// run's first column, its width, and where it starts within wt.
func (wt weightTile) each(f func(col0, width, at int)) {
	if wt.pieces == nil {
		f(wt.col0, wt.width, 0)
		return
	}
	at := 0
	for _, p := range wt.pieces {
		f(p.col0, p.width, at)
		at += p.width
	}
}

// model is the MLP's layout over a flat parameter vector:
// all weight tiles, then all biases.
type model struct {
	layers    []layer
	nParams   int
	nWeights  int   // weight elements (biases excluded)
	tileElems []int // elements per global weight tile
}

func newModel(widths []int, tileCols int) (*model, error) {
	if len(widths) < 2 {
		return nil, fmt.Errorf("model needs at least two layer widths")
	}
	if tileCols < 1 {
		return nil, fmt.Errorf("tile width %d must be positive", tileCols)
	}
	m := &model{}
	off := 0
	for l := 0; l+1 < len(widths); l++ {
		ly := layer{in: widths[l], out: widths[l+1]}
		for c := 0; c < ly.out; c += tileCols {
			w := min(tileCols, ly.out-c)
			ly.tiles = append(ly.tiles, weightTile{index: len(m.tileElems), col0: c, width: w, offset: off})
			m.tileElems = append(m.tileElems, ly.in*w)
			off += ly.in * w
		}
		m.layers = append(m.layers, ly)
	}
	m.nWeights = off
	for l := range m.layers {
		m.layers[l].bias = off
		off += m.layers[l].out
	}
	m.nParams = off
	return m, nil
}

// maxTileFraction is the largest share of the weights in one tile.
func (m *model) maxTileFraction() float64 {
	mx := 0
	for _, e := range m.tileElems {
		mx = max(mx, e)
	}
	return float64(mx) / float64(m.nWeights)
}

// init fills p with He-normal weights and zero biases. Each layer's
// weights are drawn in row-major order of the whole in×out matrix, so the
// model a seed gives does not depend on how it is cut into tiles.
func (m *model) init(p []float32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x1417))
	for l := range m.layers {
		ly := &m.layers[l]
		std := math.Sqrt(2 / float64(ly.in))
		w := make([]float32, ly.in*ly.out)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
		scatterLayer(p, ly, w)
		clear(p[ly.bias : ly.bias+ly.out])
	}
}

// tileOf returns the weights of tile t in p.
func tileOf(p []float32, ly *layer, t weightTile) []float32 {
	return p[t.offset : t.offset+ly.in*t.width]
}
