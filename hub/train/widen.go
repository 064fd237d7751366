package train

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Joined inference tasks. A decoding step multiplies a few rows (one per
// request in the lane) by every weight tile of a layer, so its tasks are
// small and the round trip's fixed costs (frames, system calls, decoding,
// verification, credit) weigh more than the arithmetic. An inference
// Remote therefore sends adjacent tiles of a frozen model that share
// their input as one task of their widths together: for gocode-lm's
// decoding steps, one task per layer's product instead of 2 to 8. It
// joins tiles only
//
//   - up to maxJoined tiles and maxJoinedFLOPs of arithmetic, so that a
//     long prompt's products still spread over several contributors;
//   - when some contributor connected now may receive all of them under
//     the exposure cap (which the hub checks for every tile of the task
//     at each lease, as for one), together with the groups of the same
//     Start already made for it, so that a joined task never waits for a
//     contributor that cannot exist while single tiles would have been
//     computed. The group is chosen when the tiles start; if its holder
//     then leaves, lets its lease run out or has its result refused, the
//     hub queues it again as its tiles (Split, hub.Splitter), which more
//     contributors may take; if the cap changes its mind before anyone
//     takes it (the contributor received other tiles first), the hub
//     splits it the same way once it has waited a moment
//     (hub/stranded.go).
//
// The joined weights, the tiles side by side, are made once per group and
// named by their own digest, so contributors keep them like any frozen
// tile and the hub checks results against them with a prepared vector
// (verify.Frozen); each result is split back into the tiles' outputs.
// The hub's own executor (tile.Local) is not involved: only round trips
// are saved. Training tiles are never joined (their weights change every
// step, and no digest names them).

// maxJoined is the most tiles joined into one task, and maxJoinedFLOPs
// the most arithmetic a joined task may carry: beyond it a product is
// large enough (a long prompt's) that spreading its tiles over several
// contributors pays more than saving round trips. It also keeps the
// joined weights and result within kernel.MaxElems (each is at most
// FLOPs/2 elements).
const (
	maxJoined      = 8
	maxJoinedFLOPs = 4 << 20
)

// maxJoinedBytes bounds the joined weights a Remote keeps; past it the set
// starts over (a served model's groups are about its size, and a new
// checkpoint brings new ones).
const maxJoinedBytes = 256 << 20

// maxTakersAsked bounds the contributors asked whether they may hold a
// group of tiles (a hub with thousands connected would otherwise scan
// them all for every group when the cap binds).
const maxTakersAsked = 64

// workingTTL is how long a Remote reuses the list of connected
// contributors it joins tiles for.
const workingTTL = 250 * time.Millisecond

// joined holds the joined weights of a Remote.
type joined struct {
	mu    sync.Mutex
	m     map[joinKey]*joinedWeights
	bytes int

	working atomic.Pointer[workingList]
}

type joinKey struct {
	op kernel.Op
	d  [maxJoined]digest.D
}

type joinedWeights struct {
	b []float32
	d digest.D
}

type workingList struct {
	addrs []string
	at    time.Time
}

// group splits one Start's tiles into the tasks to send: runs of up to
// maxJoined adjacent tiles joined where allowed (see above), the other
// tiles alone.
func (r *Remote) group(tiles []*tile.Tile) [][]*tile.Tile {
	var addrs []string
	if r.urgent && len(tiles) > 1 {
		addrs = r.workingAddrs()
	}
	return r.groupFor(tiles, addrs)
}

// groupFor is group for the contributors addrs.
func (r *Remote) groupFor(tiles []*tile.Tile, addrs []string) [][]*tile.Tile {
	out := make([][]*tile.Tile, 0, len(tiles))
	ws := make([]int, 0, maxJoined)
	// promised: the weight tiles of the groups made so far, by the
	// contributor each was made for, counted as received when the next
	// groups are asked about (else every group could count on the same
	// contributor's room, which only some of them fit).
	var promised map[string][]int
	for i := 0; i < len(tiles); {
		n, taker := 1, ""
		ws = append(ws[:0], tiles[i].Weight)
		flops := tiles[i].Shape.FLOPs()
		for len(addrs) > 0 && n < maxJoined && i+n < len(tiles) && joinable(tiles[i], tiles[i+n]) {
			if flops += tiles[i+n].Shape.FLOPs(); flops > maxJoinedFLOPs {
				break
			}
			a := r.taker(addrs, promised, append(ws, tiles[i+n].Weight))
			if a == "" {
				break
			}
			ws = append(ws, tiles[i+n].Weight)
			n, taker = n+1, a
		}
		if taker != "" {
			if promised == nil {
				promised = map[string][]int{}
			}
			promised[taker] = append(promised[taker], ws...)
		}
		out = append(out, tiles[i:i+n])
		i += n
	}
	return out
}

// joinable reports whether x and y can be one task: the same input, the
// same kind of product with frozen weights (a digest), one product each.
func joinable(x, y *tile.Tile) bool {
	if x.Op != y.Op || (x.Op != kernel.MatMulNN && x.Op != kernel.MatMulNT) {
		return false
	}
	if x.Resident != nil || y.Resident != nil || x.BDigest == (digest.D{}) || y.BDigest == (digest.D{}) {
		return false
	}
	if x.Shape.Count() != 1 || y.Shape.Count() != 1 || x.Shape.M != y.Shape.M || x.Shape.K != y.Shape.K {
		return false
	}
	return len(x.A) > 0 && len(x.A) == len(y.A) && &x.A[0] == &y.A[0]
}

// taker returns the first of addrs (the first maxTakersAsked of them:
// joining is only worth a bounded search) that may receive the weight
// tiles ws together with those already promised to it, or "" when none
// may. (The groups of one Start hold different tiles; a tile counted
// twice would only make the answer more cautious.)
func (r *Remote) taker(addrs []string, promised map[string][]int, ws []int) string {
	for _, a := range addrs[:min(len(addrs), maxTakersAsked)] {
		if ok, _ := r.exposure.check(a, append(ws[:len(ws):len(ws)], promised[a]...)...); ok {
			return a
		}
	}
	return ""
}

// workingAddrs returns the contributors connected for this job, at most
// workingTTL old.
func (r *Remote) workingAddrs() []string {
	if w := r.joined.working.Load(); w != nil && time.Since(w.at) < workingTTL {
		return w.addrs
	}
	w := &workingList{addrs: r.hub.Working(r.name), at: time.Now()}
	r.joined.working.Store(w)
	return w.addrs
}

// joinedB returns the weights of tiles side by side (op(B) of their
// columns together) and their digest, made once per group.
func (r *Remote) joinedB(tiles []*tile.Tile) ([]float32, digest.D) {
	p := &r.joined
	key := joinKey{op: tiles[0].Op}
	for i, t := range tiles {
		key.d[i] = t.BDigest
	}
	p.mu.Lock()
	got := p.m[key]
	p.mu.Unlock()
	if got != nil {
		return got.b, got.d
	}
	var b []float32
	if key.op == kernel.MatMulNT { // B is N×K: each tile's rows after the last's
		for _, t := range tiles {
			b = append(b, t.B...)
		}
	} else { // B is K×N: row k of each tile in turn
		k, width := tiles[0].Shape.K, 0
		for _, t := range tiles {
			width += t.Shape.N
		}
		b = make([]float32, k*width)
		at := 0
		for _, t := range tiles {
			n := t.Shape.N
			for i := range k {
				copy(b[i*width+at:], t.B[i*n:(i+1)*n])
			}
			at += n
		}
	}
	got = &joinedWeights{b: b, d: digest.Of(b)}
	p.mu.Lock()
	if p.m == nil || p.bytes+4*len(b) > maxJoinedBytes {
		p.m, p.bytes = make(map[joinKey]*joinedWeights), 0
	}
	p.m[key] = got
	p.bytes += 4 * len(b)
	p.mu.Unlock()
	return got.b, got.d
}

// splitRows copies c, M rows of the works' widths side by side, into each
// work's C.
func splitRows(works []*tile.Tile, c []float32) {
	if len(works) == 1 {
		copy(works[0].C, c)
		return
	}
	width := 0
	for _, w := range works {
		width += w.Shape.N
	}
	for m := range works[0].Shape.M {
		row := c[m*width : (m+1)*width]
		for _, w := range works {
			n := w.Shape.N
			copy(w.C[m*n:(m+1)*n], row[:n])
			row = row[n:]
		}
	}
}

// Split implements hub.Splitter: a joined task that comes back unfinished
// goes out again as its tiles, so that a contributor the cap allows one
// of them can take it (the group was chosen for contributors connected
// when the tiles started, who may have left).
func (r *Remote) Split(t *hub.Task) []*hub.Task {
	ref := t.Ref.(*remoteRef)
	if len(ref.works) < 2 {
		return nil
	}
	parts := make([]*hub.Task, len(ref.works))
	for i := range ref.works {
		parts[i] = r.task(ref.ctx, ref.works[i:i+1], ref.batch, t.Wire)
		parts[i].ADigest = t.ADigest // the same input
	}
	return parts
}

// Joined implements hub.Splitter.
func (r *Remote) Joined(t *hub.Task) bool { return len(t.Ref.(*remoteRef).works) > 1 }
