package train

import (
	"fmt"
	"testing"

	"github.com/tessera-ai/tessera/hub"
)

// placementModel is 784-64-32-10 in 8-column tiles: eight first-layer
// tiles of 11.9% of the weights each, then 12 small ones.
func placementModel(t *testing.T) (*model, []float64) {
	m, err := newModel([]int{784, 64, 32, 10}, 8)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, len(m.tileElems))
	for i, e := range m.tileElems {
		f[i] = float64(e) / float64(m.nWeights)
	}
	return m, f
}

func holders(n int, left float64, room int64) []Holder {
	hs := make([]Holder, n)
	for i := range hs {
		hs[i] = Holder{Holder: hub.Holder{Address: fmt.Sprintf("0x%d", i), Room: room}, Seen: map[int]bool{}, Left: left}
	}
	return hs
}

// scattered is n holders with room and none of their cap left, which
// between them have seen each of tiles tiles once, scattered.
func scattered(n, tiles int) []Holder {
	hs := holders(n, 0, 1<<30)
	for i := range tiles {
		hs[(i*7)%n].Seen[i] = true
	}
	return hs
}

// checkPlan fails unless plan covers every tile of every layer once, each
// block's tiles in column order and each address with at most one block
// of a layer, with each address's new exposure within its Left and its
// blocks within its Room; it returns the blocks per layer.
func checkPlan(t *testing.T, m *model, f []float64, hs []Holder, plan [][]block) []int {
	t.Helper()
	spent, used := map[string]float64{}, map[string]int64{}
	counts := make([]int, len(plan))
	for l, bs := range plan {
		ly := &m.layers[l]
		placed, addrs := map[int]bool{}, map[string]bool{}
		for _, b := range bs {
			if addrs[b.addr] {
				t.Errorf("layer %d: two blocks at %s", l, b.addr)
			}
			addrs[b.addr] = true
			for i, wt := range b.tiles {
				if placed[wt.index] || (i > 0 && wt.col0 <= b.tiles[i-1].col0) || wt.index < ly.tiles[0].index || wt.index > ly.tiles[len(ly.tiles)-1].index {
					t.Fatalf("layer %d: tile %d placed twice, out of order or in the wrong layer", l, wt.index)
				}
				placed[wt.index] = true
				used[b.addr] += 8 * int64(ly.in*wt.width)
				for _, h := range hs {
					if h.Address == b.addr && !h.Seen[wt.index] {
						spent[b.addr] += f[wt.index]
					}
				}
			}
		}
		if len(placed) != len(ly.tiles) {
			t.Fatalf("layer %d: %d of %d tiles placed", l, len(placed), len(ly.tiles))
		}
		counts[l] = len(bs)
	}
	for _, h := range hs {
		if spent[h.Address] > h.Left+1e-9 || used[h.Address] > h.Room {
			t.Errorf("%s: %.3f of the weights newly exposed (%.3f left), %d bytes kept (room %d)", h.Address, spent[h.Address], h.Left, used[h.Address], h.Room)
		}
	}
	return counts
}

// TestPlacementFresh: four contributors that have seen nothing, a cap of
// 0.3: the first layer goes in four blocks of two tiles, the rest
// continues at the last of them and then the next.
func TestPlacementFresh(t *testing.T) {
	m, f := placementModel(t)
	hs := holders(4, 0.3, 1<<30)
	plan, ok := place(m, hs, f)
	if !ok {
		t.Fatal("no plan")
	}
	counts := checkPlan(t, m, f, hs, plan)
	if counts[0] != 4 {
		t.Errorf("the first layer in %d blocks, want 4", counts[0])
	}
	if three, ok := place(m, holders(3, 0.3, 1<<30), f); ok {
		t.Errorf("three contributors under a cap of 0.3 hold 95%% of the weights: %v", three)
	}
}

// TestPlacementFromSeen: contributors that have each received a scattered
// quarter of the tiles and nothing of the cap is left: every tile goes to
// one that has seen it, at no exposure, and each layer is cut into one
// block per contributor, not one per run of adjacent tiles.
func TestPlacementFromSeen(t *testing.T) {
	m, f := placementModel(t)
	hs := scattered(4, len(f))
	plan, ok := place(m, hs, f)
	if !ok {
		t.Fatal("no plan")
	}
	if counts := checkPlan(t, m, f, hs, plan); counts[0] != 4 {
		t.Errorf("the first layer in %d blocks, want 4 (one per contributor)", counts[0])
	}
	hs[2].Seen = map[int]bool{}
	if _, ok := place(m, hs, f); ok {
		t.Error("placed tiles that nobody may receive")
	}
}

// TestPlacementRoom: a contributor without room for a first-layer tile
// (784×8 weights and momentum, 50 KB) is given only the small ones.
func TestPlacementRoom(t *testing.T) {
	m, f := placementModel(t)
	hs := holders(5, 0.3, 1<<30)
	hs[0].Room = 40 << 10
	plan, ok := place(m, hs, f)
	if !ok {
		t.Fatal("no plan")
	}
	checkPlan(t, m, f, hs, plan)
	for _, b := range plan[0] {
		if b.addr == hs[0].Address {
			t.Errorf("a first-layer block placed at a contributor without room for it")
		}
	}
}
