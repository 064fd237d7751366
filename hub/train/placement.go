package train

import (
	"maps"

	"github.com/tessera-ai/tessera/hub"
)

// Placement of resident weights at ordinary contributors
// (Spec.OrdinaryKeepers). An own worker is exempt from the exposure cap and
// keeps each layer whole; an ordinary contributor may keep only what the
// cap still allows it, and exposure is cumulative: after ordinary steps
// each contributor has received some arbitrary set of tiles. So the plan
// is made afresh whenever the weights are installed, from what each
// candidate has already seen, and a layer is cut into blocks: the tiles
// placed at one address, in column order but not necessarily adjacent
// (their columns side by side make the block's matrix). A step is
// resident only when every tile is placed.
//
// Tiles are placed one at a time, in column order, at an address that has
// seen the tile already or whose cap still allows it, and whose operand
// cache has room for the block's matrices. Among those: first an address
// that already has a block of the layer, so that the layer is cut into
// few blocks (each block is a task per product, and an input-gradient
// partial of the whole layer input each step); then one that has seen
// the tile (no new exposure); then the one with the most of its cap left.
// Measured with four contributors after ordinary steps (each has seen
// about a quarter of the tiles, a few percent of its cap left), the
// block-first order gave 13.2 MB per useful GFLOP against 14.5 for
// seen-first, one run each (RATIONALE.md, "Ordinary keepers").

// Holder is an ordinary contributor that may keep weights now, as a
// job's exposure sees it.
type Holder struct {
	hub.Holder
	// Seen lists the weight tiles it has received already; Left is what
	// the cap still allows it, as a fraction of the weights.
	Seen map[int]bool
	Left float64
}

// block is the weight tiles of one layer kept at one address ("" for
// whichever own worker takes it), in column order.
type block struct {
	addr  string
	tiles []weightTile
}

// width is the block's number of columns.
func (b block) width() int {
	w := 0
	for _, wt := range b.tiles {
		w += wt.width
	}
	return w
}

// indices lists the block's global tile indices (what it reveals).
func (b block) indices() []int {
	out := make([]int, len(b.tiles))
	for i, wt := range b.tiles {
		out[i] = wt.index
	}
	return out
}

// wholeLayers is the plan for an own worker: each layer one block.
func wholeLayers(m *model) [][]block {
	plan := make([][]block, len(m.layers))
	for l := range m.layers {
		plan[l] = []block{{tiles: m.layers[l].tiles}}
	}
	return plan
}

// cand is a Holder as placement goes: what it may still take.
type cand struct {
	addr string
	room int64
	seen map[int]bool
	left float64
}

// candidates returns the holders as placement candidates (copies).
func candidates(holders []Holder) []*cand {
	cs := make([]*cand, len(holders))
	for i, h := range holders {
		seen := maps.Clone(h.Seen)
		if seen == nil {
			seen = map[int]bool{}
		}
		cs[i] = &cand{addr: h.Address, room: h.Room, seen: seen, left: h.Left}
	}
	return cs
}

// candidatesOf returns copies of cs.
func candidatesOf(cs []*cand) []*cand {
	out := make([]*cand, len(cs))
	for i, c := range cs {
		out[i] = &cand{addr: c.addr, room: c.room, seen: maps.Clone(c.seen), left: c.left}
	}
	return out
}

// place plans every layer's blocks at holders (placement above), given
// each tile's share of the weights; ok is false when some tile fits
// nowhere. holders is not changed.
func place(m *model, holders []Holder, fractions []float64) (plan [][]block, ok bool) {
	cs := candidates(holders)
	plan = make([][]block, len(m.layers))
	for l := range m.layers {
		if plan[l], ok = placeTiles(cs, &m.layers[l], m.layers[l].tiles, fractions); !ok {
			return nil, false
		}
	}
	return plan, true
}

// placeTiles places tiles of layer ly at the candidates cs, and takes
// what they use from cs (a caller that may discard the plan passes a copy:
// candidatesOf); it returns false when some tile fits nowhere.
func placeTiles(cs []*cand, ly *layer, tiles []weightTile, fractions []float64) ([]block, bool) {
	var bs []block
	at := map[*cand]int{} // the candidates with a block of this layer
	for _, wt := range tiles {
		bytes := 8 * int64(ly.in) * int64(wt.width) // weights and momentum
		f := fractions[wt.index]
		fits := func(c *cand) bool { return c.room >= bytes && (c.seen[wt.index] || c.left+capSlack >= f) }
		// better reports whether c is a better place than pick.
		better := func(c, pick *cand) bool {
			if pick == nil {
				return true
			}
			_, cIn := at[c]
			_, pIn := at[pick]
			if cIn != pIn {
				return cIn
			}
			if c.seen[wt.index] != pick.seen[wt.index] {
				return c.seen[wt.index]
			}
			return !c.seen[wt.index] && c.left > pick.left
		}
		var pick *cand
		for _, c := range cs {
			if fits(c) && better(c, pick) {
				pick = c
			}
		}
		if pick == nil {
			return nil, false
		}
		pick.room -= bytes
		if !pick.seen[wt.index] {
			pick.seen[wt.index] = true
			pick.left -= f
		}
		if j, ok := at[pick]; ok {
			bs[j].tiles = append(bs[j].tiles, wt)
		} else {
			at[pick] = len(bs)
			bs = append(bs, block{addr: pick.addr, tiles: []weightTile{wt}})
		}
	}
	return bs, true
}
