package hub

import (
	"math/rand/v2"
	"slices"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Operand caching, the hub's side (protocol.OperandCache is the
// contributor's). A session whose contributor offered a cache keeps an
// opCache: the operands it told the contributor to keep, by content, with
// the blinding each was sent under. Planning a task's frame looks both
// operands up: one the contributor holds is sent as a reference, and the
// task's blinding is built around it (the same inner permutation and the
// same scales on that operand's outer axis, fresh scales on the other);
// an operand sent in full is kept for later tasks when it is large enough
// to be worth it. So a layer's activations cross a contributor's link
// once per step, not once per weight tile, while each assignment stays
// blinded and no two contributors see the same inputs.
//
// Only the session's write loop touches its opCache, in the order frames
// go out, which is the order the contributor applies them in.

// minCachedBytes is the smallest operand worth keeping: below it the
// id and bookkeeping cost about what a re-send would.
const minCachedBytes = 4 << 10

// opRole is how a task uses an operand: which side, and whether op
// transposes it. A blinded operand's bytes depend on it; an unblinded
// one's do not (roleAny), so that, say, a layer's input sent for the
// forward product serves the weight gradient's too.
type opRole uint8

const (
	roleAny opRole = iota // unblinded: any use
	roleA                 // A of NN or NT: op(A) = A
	roleAT                // A of TN: op(A) = Aᵀ
	roleB                 // B of NN or TN: op(B) = B
	roleBT                // B of NT: op(B) = Bᵀ
)

// opKey identifies an operand by content, dimensions and use.
type opKey struct {
	sum               digest.D
	batch, rows, cols int
	role              opRole
}

// keyOf returns the key of v, a batch of rows×cols matrices whose digest
// is sum, or is computed when sum is zero.
func keyOf(v []float32, sum digest.D, batch, rows, cols int, role opRole) opKey {
	if sum == (digest.D{}) {
		sum = digest.Of(v)
	}
	return opKey{sum: sum, batch: batch, rows: rows, cols: cols, role: role}
}

// opEntry is one operand the contributor keeps.
type opEntry struct {
	key   opKey
	id    uint32
	bytes int64
	perm  []int32 // the blinding's inner permutations it was sent under (nil unblinded)
	exp   []int8  // and the scales of its outer axis
	last  uint64  // the plan that last used it, for eviction

	prev, next *opEntry // the recency list, least recently used first
}

// opCache is what one contributor keeps. A contributor that offered no
// cache has one of limit 0: its tasks are planned (blinded) the same way,
// every operand sent.
type opCache struct {
	limit, used int64
	byKey       map[opKey]*opEntry
	lastID      uint32
	plans       uint64
	rng         *rand.Rand
	// recent is the sentinel of a circular list of the entries, least
	// recently used (recent.next) to most: eviction takes the first, in
	// constant time. (A 64 MiB cache holds some 16,000 activation
	// operands of 4 KiB; scanning them for the oldest, once per kept
	// operand, was a tenth of a decoding hub's CPU time.)
	recent opEntry
	// perms holds the connection's inner permutation for each shape of
	// inner dimension (products, K), used by every blinded task that no
	// kept operand constrains, so that the operands this contributor keeps
	// agree with one another: a layer's input is sent once for all the
	// weight tiles the contributor holds, not once per tile because each
	// tile happened to be first sent under a different permutation.
	perms map[[2]int][]int32
	// kept holds the resident weights installed (resident.go), never
	// evicted to make room for operands.
	kept map[*Kept]keptIDs
}

// maxPerms bounds opCache.perms; a full map is emptied (kept operands keep
// their own permutations, so only later choices change).
const maxPerms = 64

func newOpCache(limit int64, rng *rand.Rand) *opCache {
	c := &opCache{limit: limit, byKey: map[opKey]*opEntry{}, rng: rng, perms: map[[2]int][]int32{}, kept: map[*Kept]keptIDs{}}
	c.recent.prev, c.recent.next = &c.recent, &c.recent
	return c
}

// use marks e as used by the current plan: it moves to the list's end.
func (c *opCache) use(e *opEntry) {
	e.last = c.plans
	if e.next != nil {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.prev, e.next = c.recent.prev, &c.recent
	e.prev.next, c.recent.prev = e, e
}

// plan fills in msg (whose ID, Op, Shape and lease are set) for task t:
// the operands to send, blinded when blind, or the ids the contributor
// holds them under, what it keeps and forgets. a2 and b2 are scratch for
// blinded operands (grown as needed and returned). It returns the
// blinding, nil when not blind.
func (c *opCache) plan(msg *protocol.Task, t *Task, blind bool, a2, b2 []float32) (*verify.Blinding, []float32, []float32) {
	c.plans++
	sh := t.Shape
	ra, rb := roleA, roleB
	if t.Op == kernel.MatMulTN {
		ra = roleAT
	}
	if t.Op == kernel.MatMulNT {
		rb = roleBT
	}
	if !blind {
		ra, rb = roleAny, roleAny
	}
	ar, ac := t.Op.ADims(sh)
	br, bc := t.Op.BDims(sh)
	var ka, kb opKey
	var ea, eb *opEntry
	cacheA, cacheB := c.limit > 0 && 4*len(t.A) >= minCachedBytes, c.limit > 0 && 4*len(t.B) >= minCachedBytes
	if cacheA {
		ka = keyOf(t.A, t.ADigest, sh.Count(), ar, ac, ra)
		ea = c.byKey[ka]
	}
	if cacheB {
		kb = keyOf(t.B, t.BDigest, sh.Count(), br, bc, rb)
		eb = c.byKey[kb]
	}
	if cacheA && cacheB && ka == kb && ea == nil {
		cacheB = false // one operand twice (unblinded): keep it once, as A
	}
	msg.Drop = msg.Drop[:0]
	// Both held, but under blindings that disagree on the inner
	// permutation: keep the larger, send the other again.
	if ea != nil && eb != nil && !slices.Equal(ea.perm, eb.perm) {
		if ea.bytes >= eb.bytes {
			c.evict(msg, eb)
			eb = nil
		} else {
			c.evict(msg, ea)
			ea = nil
		}
	}
	var bl *verify.Blinding
	if blind {
		var perm []int32
		var rowExp, colExp []int8
		if ea != nil {
			perm, rowExp = ea.perm, ea.exp
		}
		if eb != nil {
			perm, colExp = eb.perm, eb.exp
		}
		pk := [2]int{sh.Count(), sh.K}
		own := c.perms[pk] // nil when the cache is off: fresh every task
		if perm == nil {
			perm = own
		}
		bl = verify.BlindingWith(sh, c.rng, perm, rowExp, colExp)
		if own == nil && c.limit > 0 {
			if len(c.perms) >= maxPerms {
				clear(c.perms)
			}
			c.perms[pk], _, _ = bl.Parts()
		}
	}
	msg.A, msg.B, msg.ACache, msg.BCache = t.A, t.B, protocol.Cached{}, protocol.Cached{}
	if bl != nil {
		// Only what is sent is blinded: a held operand already is.
		var da, db []float32
		if ea == nil {
			a2 = resize(a2, len(t.A))
			da, msg.A = a2, a2
		}
		if eb == nil {
			b2 = resize(b2, len(t.B))
			db, msg.B = b2, b2
		}
		bl.Apply(t.Op, sh, t.A, t.B, da, db)
	}
	for _, e := range []*opEntry{ea, eb} {
		if e != nil {
			c.use(e)
		}
	}
	perm, rowExp, colExp := []int32(nil), []int8(nil), []int8(nil)
	if bl != nil {
		perm, rowExp, colExp = bl.Parts()
	}
	if ea != nil {
		msg.A, msg.ACache.Ref = nil, ea.id
	} else if cacheA {
		msg.ACache.Keep = c.keep(msg, ka, 4*int64(len(t.A)), perm, rowExp)
	}
	if eb != nil {
		msg.B, msg.BCache.Ref = nil, eb.id
	} else if cacheB {
		msg.BCache.Keep = c.keep(msg, kb, 4*int64(len(t.B)), perm, colExp)
	}
	return bl, a2, b2
}

// keep records a new operand and returns its id, making room by
// forgetting the least recently used ones that this plan does not use;
// 0 when it does not fit.
func (c *opCache) keep(msg *protocol.Task, k opKey, size int64, perm []int32, exp []int8) uint32 {
	if size > c.limit {
		return 0
	}
	for c.used+size > c.limit {
		// The least recently used entry, unless this plan uses it (then
		// so does it the one after: the list is in order of use).
		oldest := c.recent.next
		if oldest == &c.recent || oldest.last == c.plans || len(msg.Drop) >= protocol.MaxDrop {
			return 0
		}
		c.evict(msg, oldest)
	}
	e := &opEntry{key: k, id: c.nextID(), bytes: size, perm: perm, exp: exp}
	c.use(e)
	c.byKey[k] = e
	c.used += size
	return e.id
}

// evict forgets e, telling the contributor through msg.
func (c *opCache) evict(msg *protocol.Task, e *opEntry) {
	delete(c.byKey, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	c.used -= e.bytes
	msg.Drop = append(msg.Drop, e.id)
}
