package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// frozenTiles returns n tiles of op(A)·op(B_i), M×K by K×widths[i],
// sharing one A, with frozen (digested) weights numbered from 0.
func frozenTiles(op kernel.Op, m, k int, widths []int, rng *rand.Rand) []*tile.Tile {
	a := make([]float32, m*k)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	var ts []*tile.Tile
	for i, n := range widths {
		b := make([]float32, k*n)
		for j := range b {
			b[j] = rng.Float32()*2 - 1
		}
		ts = append(ts, &tile.Tile{Op: op, Shape: kernel.Shape{M: m, K: k, N: n}, A: a, B: b, BDigest: digest.Of(b),
			C: make([]float32, m*n), Weight: i})
	}
	return ts
}

// TestJoinedTilesComputeEachTile: one product with the joined weights,
// split back, gives every tile exactly its own product (the same sums in
// the same order), for X·W and X·Wᵀ tiles of unequal widths.
func TestJoinedTilesComputeEachTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, op := range []kernel.Op{kernel.MatMulNN, kernel.MatMulNT} {
		ts := frozenTiles(op, 5, 12, []int{8, 8, 3}, rng)
		r := &Remote{}
		b, d := r.joinedB(ts)
		if d != digest.Of(b) {
			t.Fatalf("%v: the joined weights' digest is not theirs", op)
		}
		if b2, _ := r.joinedB(ts); &b2[0] != &b[0] {
			t.Errorf("%v: the joined weights were made twice", op)
		}
		sh := kernel.Shape{M: 5, K: 12, N: 19}
		c := make([]float32, sh.CLen())
		if err := kernel.Reference(op, sh, ts[0].A, b, c); err != nil {
			t.Fatal(err)
		}
		splitRows(ts, c)
		for i, tl := range ts {
			want := make([]float32, tl.Shape.CLen())
			kernel.Reference(op, tl.Shape, tl.A, tl.B, want)
			if !slices.Equal(tl.C, want) {
				t.Errorf("%v: tile %d's output differs from its own product", op, i)
			}
		}
	}
}

// TestJoinGroups: decoding tiles of one product are joined up to
// maxJoined; a long prompt's by maxJoinedFLOPs; never training tiles,
// tiles of another input, batches, or tiles no connected contributor may
// hold together under the cap (counting the groups already made for it);
// nothing with no contributor connected.
func TestJoinGroups(t *testing.T) {
	if maxJoinedFLOPs/2 > kernel.MaxElems {
		t.Fatalf("a joined task of %d FLOPs may carry operands beyond kernel.MaxElems", maxJoinedFLOPs)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := func(groups [][]*tile.Tile) []int {
		var out []int
		for _, g := range groups {
			out = append(out, len(g))
		}
		return out
	}
	widths := func(n int) []int {
		w := make([]int, n)
		for i := range w {
			w[i] = 64
		}
		return w
	}
	fractions := make([]float64, 12)
	for i := range fractions {
		fractions[i] = 1.0 / 12
	}
	noCap := NewExposure(1, fractions, nil, nil, func(string, int) error { return nil })
	r := &Remote{exposure: noCap, urgent: true}
	addrs := []string{"a"}

	decode := frozenTiles(kernel.MatMulNN, 8, 128, widths(10), rng)
	if got := sizes(r.groupFor(decode, addrs)); !slices.Equal(got, []int{8, 2}) {
		t.Errorf("10 decoding tiles: groups %v, want [8 2]", got)
	}
	if got := sizes(r.groupFor(decode, nil)); len(got) != 10 {
		t.Errorf("no contributor connected: groups %v, want 10 single tiles", got)
	}
	prompt := frozenTiles(kernel.MatMulNN, 512, 128, widths(8), rng) // 8.4 MFLOP a tile
	if got := sizes(r.groupFor(prompt, addrs)); len(got) != 8 {
		t.Errorf("a long prompt's tiles: groups %v, want 8 single tiles", got)
	}
	mid := frozenTiles(kernel.MatMulNN, 64, 128, widths(8), rng) // 1 MFLOP a tile
	if got := sizes(r.groupFor(mid, addrs)); !slices.Equal(got, []int{4, 4}) {
		t.Errorf("64-row tiles: groups %v, want [4 4] (maxJoinedFLOPs)", got)
	}

	training := frozenTiles(kernel.MatMulNN, 8, 128, widths(4), rng)
	for _, tl := range training {
		tl.BDigest = digest.D{}
	}
	other := frozenTiles(kernel.MatMulNN, 8, 128, widths(2), rng) // another A
	mixed := append(append(slices.Clone(decode[:2]), other...), decode[2:4]...)
	if got := sizes(r.groupFor(training, addrs)); len(got) != 4 {
		t.Errorf("training tiles: groups %v, want single tiles", got)
	}
	if got := sizes(r.groupFor(mixed, addrs)); !slices.Equal(got, []int{2, 2, 2}) {
		t.Errorf("tiles of two inputs: groups %v, want [2 2 2]", got)
	}
	batched := frozenTiles(kernel.MatMulNN, 8, 16, widths(3), rng)
	for _, tl := range batched {
		tl.Shape.Batch = 2
	}
	if got := sizes(r.groupFor(batched, addrs)); len(got) != 3 {
		t.Errorf("batched tiles: groups %v, want single tiles", got)
	}
	if got := sizes((&Remote{exposure: noCap}).group(decode)); len(got) != 10 {
		t.Errorf("a training Remote: groups %v, want single tiles", got)
	}

	// A cap of 3 tiles, with "a" holding tiles 0 and 1 already and "b"
	// holding 2: a may take 0..2 together (one new), then only b may take
	// more, two new tiles (3 and 4); 5 goes alone.
	capped := NewExposure(3.0/12, fractions, nil, map[string][]int{"a": {0, 1}, "b": {2}}, func(string, int) error { return nil })
	rc := &Remote{exposure: capped, urgent: true}
	if got := sizes(rc.groupFor(decode[:6], []string{"a", "b"})); !slices.Equal(got, []int{3, 2, 1}) {
		t.Errorf("under the cap: groups %v, want [3 2 1]", got)
	}
	if got := sizes(rc.groupFor(decode[:6], []string{"a"})); !slices.Equal(got, []int{3, 1, 1, 1}) {
		t.Errorf("under the cap, a alone: groups %v, want [3 1 1 1]", got)
	}
	// A newcomer holding nothing may take any 3 tiles, but not two groups
	// of 3: the second group must not count on the room the first takes.
	fresh := &Remote{exposure: NewExposure(3.0/12, fractions, nil, nil, func(string, int) error { return nil }), urgent: true}
	if got := sizes(fresh.groupFor(decode[:6], []string{"c"})); !slices.Equal(got, []int{3, 1, 1, 1}) {
		t.Errorf("one newcomer: groups %v, want [3 1 1 1]", got)
	}
	if got := sizes(fresh.groupFor(decode[:6], []string{"c", "d"})); !slices.Equal(got, []int{3, 3}) {
		t.Errorf("two newcomers: groups %v, want [3 3]", got)
	}
	full := NewExposure(1.0/12, fractions, nil, map[string][]int{"a": {0}}, func(string, int) error { return nil })
	if got := sizes((&Remote{exposure: full, urgent: true}).groupFor(decode[:4], []string{"a"})); len(got) != 4 {
		t.Errorf("a contributor at its cap: groups %v, want single tiles", got)
	}
}

// TestJoinedTaskSplitsIntoItsTiles: a joined task cut back into its tiles
// (hub.Splitter) gives tasks of each tile's own operands (the input's
// digest kept), gated by its own weight tile, whose results complete the
// tiles and their batch.
func TestJoinedTaskSplitsIntoItsTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	ts := frozenTiles(kernel.MatMulNN, 4, 16, []int{8, 8, 8}, rng)
	fractions := []float64{0.3, 0.3, 0.3}
	// "a" may hold one more tile (cap 0.6, holding tile 0): not all three.
	exp := NewExposure(0.6, fractions, nil, map[string][]int{"a": {0}}, func(string, int) error { return nil })
	r := &Remote{exposure: exp, urgent: true}
	batch := tile.NewBatch(len(ts))
	ref := &remoteRef{ctx: context.Background(), works: ts, weights: []int{0, 1, 2}, batch: batch}
	joined := &hub.Task{Op: kernel.MatMulNN, Shape: kernel.Shape{M: 4, K: 16, N: 24}, Ref: ref, Source: r, ADigest: digest.Of(ts[0].A)}
	if !r.Joined(joined) {
		t.Fatal("a task of three tiles is not Joined")
	}
	if ok, _ := r.Check("a", joined); ok {
		t.Fatal("a may take all three tiles over its cap")
	}
	parts := r.Split(joined)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for i, p := range parts {
		if p.Shape != ts[i].Shape || &p.B[0] != &ts[i].B[0] || p.BDigest != ts[i].BDigest || &p.A[0] != &ts[i].A[0] {
			t.Fatalf("part %d is not tile %d's product", i, i)
		}
		if p.ADigest != joined.ADigest || r.Joined(p) {
			t.Errorf("part %d: input digest %v (want the joined task's), joined %v", i, p.ADigest, r.Joined(p))
		}
		if ok, _ := r.Check("a", p); !ok {
			t.Errorf("a may not take tile %d alone", i)
		}
		c := make([]float32, p.Shape.CLen())
		kernel.Reference(p.Op, p.Shape, p.A, p.B, c)
		r.Done(p, c)
		if !slices.Equal(ts[i].C, c) {
			t.Errorf("tile %d's output is not its part's result", i)
		}
	}
	if err := batch.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Split(parts[0]) != nil {
		t.Error("a single tile was split")
	}
}

// TestSharedInputDigest: tasks that share an A carry its digest, computed
// once; a task whose A is its own, or an equal copy of another's, carries
// none (the hub hashes it when it plans the task).
func TestSharedInputDigest(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	own := []float32{5, 6, 7, 8}
	copyOfX := slices.Clone(x)
	ts := []*hub.Task{{A: x}, {A: own}, {A: x}, {A: copyOfX}, {A: x[:2]}}
	shareDigests(ts)
	want := digest.Of(x)
	for i, tk := range ts {
		shared := i == 0 || i == 2
		if shared && tk.ADigest != want {
			t.Errorf("task %d shares x: digest %v, want %v", i, tk.ADigest, want)
		}
		if !shared && tk.ADigest != (digest.D{}) {
			t.Errorf("task %d does not share its A, yet carries digest %v", i, tk.ADigest)
		}
	}
}
