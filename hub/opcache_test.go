package hub

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// TestOperandCachePlans plans a long run of tasks through one session's
// opCache and plays every frame through the encoder, the decoder and a
// contributor's protocol.OperandCache, as the real peers do. Tasks draw
// their operands from a small pool (so that references, blindings built
// around kept operands, conflicts and evictions all happen), with every
// op and batched shapes, and a cache too small to hold the pool. Each
// task, computed on what the contributor resolved and unblinded, must be
// the product of the task's own operands; and the caching must pay.
func TestOperandCachePlans(t *testing.T) {
	for _, blind := range []bool{true, false} {
		name := "blinded"
		if !blind {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) { playPlans(t, blind) })
	}
}

func playPlans(t *testing.T, blind bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []kernel.Shape{{M: 32, K: 48, N: 40}, {Batch: 3, M: 16, K: 24, N: 32}, {M: 32, K: 32, N: 32}}
	ops := []kernel.Op{kernel.MatMulNN, kernel.MatMulNT, kernel.MatMulTN}
	// A pool of operands per (shape, op, side).
	type slot struct {
		sh kernel.Shape
		op kernel.Op
	}
	poolA, poolB := map[slot][][]float32{}, map[slot][][]float32{}
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, sh := range shapes {
		for _, op := range ops {
			for range 3 {
				poolA[slot{sh, op}] = append(poolA[slot{sh, op}], vec(sh.ALen()))
				poolB[slot{sh, op}] = append(poolB[slot{sh, op}], vec(sh.BLen()))
			}
		}
	}
	const limit = 160 << 10 // two thirds of the pool: evictions
	hub := newOpCache(limit, rand.New(rand.NewPCG(3, 4)))
	peer := protocol.NewOperandCache(limit)
	var msg protocol.Task
	var got protocol.Task
	var a2, b2 []float32
	var sent, full, drops, refs int
	for i := range 400 {
		sh := shapes[rng.IntN(len(shapes))]
		op := ops[rng.IntN(len(ops))]
		s := slot{sh, op}
		task := &Task{ID: uint64(i + 1), Op: op, Shape: sh, A: poolA[s][rng.IntN(3)], B: poolB[s][rng.IntN(3)]}
		if sh.M == sh.K && sh.K == sh.N && rng.IntN(2) == 0 {
			task.B = task.A // one operand on both sides
		}
		msg = protocol.Task{ID: task.ID, Op: op, Shape: sh, Drop: msg.Drop[:0]}
		bl, na, nb := hub.plan(&msg, task, blind, a2, b2)
		a2, b2 = na, nb
		if (bl != nil) != blind {
			t.Fatalf("task %d: blinding %v with blind %v", i, bl != nil, blind)
		}
		drops += len(msg.Drop)
		if msg.ACache.Ref != 0 {
			refs++
		}
		if msg.BCache.Ref != 0 {
			refs++
		}
		frame := protocol.Encode(nil, &msg)
		sent += len(frame)
		full += len(protocol.Encode(nil, &protocol.Task{ID: task.ID, Op: op, Shape: sh, A: task.A, B: task.B}))
		if err := protocol.DecodeInto(frame, &got); err != nil {
			t.Fatalf("task %d: decode: %v", i, err)
		}
		if err := peer.Resolve(&got); err != nil {
			t.Fatalf("task %d (%v %v): the contributor disagrees: %v", i, op, sh, err)
		}
		if hub.used != peer.Bytes() || hub.used > limit || len(hub.byKey) != peer.Len() {
			t.Fatalf("task %d: hub counts %d operands of %d bytes kept, the contributor %d of %d (limit %d)", i, len(hub.byKey), hub.used, peer.Len(), peer.Bytes(), limit)
		}
		checkRecency(t, hub)
		c := make([]float32, sh.CLen())
		kernel.Reference(op, sh, got.A, got.B, c)
		if bl != nil {
			bl.Unblind(sh, c)
		}
		want := make([]float32, sh.CLen())
		kernel.Reference(op, sh, task.A, task.B, want)
		for j := range c {
			if d := math.Abs(float64(c[j] - want[j])); d > 1e-4*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("task %d (%v %v): element %d is %v, want %v", i, op, sh, j, c[j], want[j])
			}
		}
	}
	if drops == 0 || refs == 0 {
		t.Errorf("%d references and %d drops: the run did not exercise the cache", refs, drops)
	}
	if sent >= full*3/4 {
		t.Errorf("sent %d bytes where uncached frames are %d: caching did not pay", sent, full)
	}
	t.Logf("%d bytes sent for %d bytes of uncached frames (%.0f%%); %d references, %d drops", sent, full, 100*float64(sent)/float64(full), refs, drops)
}

// checkRecency checks c's recency list, which eviction takes from the
// front: it holds exactly the kept operands, in order of last use.
func checkRecency(t *testing.T, c *opCache) {
	t.Helper()
	n := 0
	var last uint64
	for e := c.recent.next; e != &c.recent; e = e.next {
		if e.next.prev != e || c.byKey[e.key] != e {
			t.Fatalf("recency list: entry %d is not linked both ways or not kept", e.id)
		}
		if e.last < last {
			t.Fatalf("recency list: entry %d, last used by plan %d, follows one used by plan %d", e.id, e.last, last)
		}
		last = e.last
		if n++; n > len(c.byKey) {
			break
		}
	}
	if n != len(c.byKey) {
		t.Fatalf("recency list holds %d entries, the cache %d", n, len(c.byKey))
	}
}

// BenchmarkOperandPlan times planning one blinded frame of a language
// model's column tile (A: 2048×128 activations, B: 128×64 weights) on a
// session that already holds A, as every tile after a layer's first is;
// "fresh" plans the same tile on an empty cache (both operands sent).
func BenchmarkOperandPlan(b *testing.B) {
	sh := kernel.Shape{M: 2048, K: 128, N: 64}
	rng := rand.New(rand.NewPCG(1, 2))
	x, w := make([]float32, sh.ALen()), make([]float32, sh.BLen())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	task := &Task{Op: kernel.MatMulNN, Shape: sh, A: x, B: w}
	for _, held := range []bool{true, false} {
		name := "held"
		if !held {
			name = "fresh"
		}
		b.Run(name, func(b *testing.B) {
			c := newOpCache(1<<30, rand.New(rand.NewPCG(3, 4)))
			var msg protocol.Task
			var a2, b2 []float32
			_, a2, b2 = c.plan(&msg, task, true, a2, b2)
			b.SetBytes(int64(4 * (len(x) + len(w))))
			b.ResetTimer()
			for range b.N {
				if !held {
					c = newOpCache(1<<30, c.rng)
				}
				msg.Drop = msg.Drop[:0]
				_, a2, b2 = c.plan(&msg, task, true, a2, b2)
			}
		})
	}
}
