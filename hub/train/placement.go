package train

import (
	"math"

	"github.com/tessera-ai/tessera/hub"
)

// Placement of resident weights at ordinary contributors
// (Spec.OrdinaryKeepers). An own worker is exempt from the exposure cap and
// keeps each layer whole; an ordinary contributor may keep only what the
// cap still allows it, and exposure is cumulative: after ordinary steps
// each contributor has received some arbitrary set of tiles. So the plan
// is made afresh whenever the weights are installed, from what each
// candidate has already seen, and a layer is cut into blocks: runs of
// adjacent column tiles placed at one address. A step is resident only
// when every tile is placed.
//
// Tiles are placed one at a time, in order, cheapest first: at an address
// that has seen the tile already (it costs no exposure), preferring the
// one holding the tile before it, so that blocks stay long; otherwise at
// the holder of the tile before it if its cap allows, and otherwise at
// the candidate with the most of its cap left. Each block's matrices must
// also fit the candidate's operand cache. Fewer, longer blocks mean fewer
// tasks and input-gradient partials, but exposure is the scarcer
// resource: it is never given back.

// Holder is an ordinary contributor that may keep weights now, as a
// job's exposure sees it.
type Holder struct {
	hub.Holder
	// Seen lists the weight tiles it has received already; Left is what
	// the cap still allows it, as a fraction of the weights.
	Seen map[int]bool
	Left float64
}

// block is a run of adjacent weight tiles of one layer, kept at one
// address ("" for whichever own worker takes it).
type block struct {
	addr  string
	tiles []weightTile
}

// col0 and width are the columns of the layer the block covers.
func (b block) col0() int { return b.tiles[0].col0 }
func (b block) width() int {
	last := b.tiles[len(b.tiles)-1]
	return last.col0 + last.width - b.col0()
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

// place plans every layer's blocks at holders (placement above), given
// each tile's share of the weights; ok is false when some tile fits
// nowhere. holders is not changed.
func place(m *model, holders []Holder, fractions []float64) (plan [][]block, ok bool) {
	type cand struct {
		addr string
		room int64
		seen map[int]bool
		left float64
	}
	cs := make([]*cand, len(holders))
	for i, h := range holders {
		seen := make(map[int]bool, len(h.Seen))
		for t := range h.Seen {
			seen[t] = true
		}
		cs[i] = &cand{addr: h.Address, room: h.Room, seen: seen, left: h.Left}
	}
	plan = make([][]block, len(m.layers))
	for l := range m.layers {
		ly := &m.layers[l]
		var prev *cand
		for _, wt := range ly.tiles {
			bytes := 8 * int64(ly.in) * int64(wt.width) // weights and momentum
			f := fractions[wt.index]
			fits := func(c *cand) bool { return c.room >= bytes && (c.seen[wt.index] || c.left+capSlack >= f) }
			var pick *cand
			switch {
			case prev != nil && prev.seen[wt.index] && fits(prev):
				pick = prev
			default:
				for _, c := range cs {
					if c.seen[wt.index] && fits(c) {
						pick = c
						break
					}
				}
				if pick == nil && prev != nil && fits(prev) {
					pick = prev
				}
				if pick == nil {
					best := math.Inf(-1)
					for _, c := range cs {
						if fits(c) && c.left > best {
							pick, best = c, c.left
						}
					}
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
			if pick == prev {
				last := &plan[l][len(plan[l])-1]
				last.tiles = append(last.tiles, wt)
			} else {
				plan[l] = append(plan[l], block{addr: pick.addr, tiles: []weightTile{wt}})
			}
			prev = pick
		}
	}
	return plan, true
}
