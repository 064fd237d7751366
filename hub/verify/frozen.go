package verify

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// FrozenUses bounds how many checks one Frozen serves before its owner
// draws a new one.
const FrozenUses = 256

// Frozen is a Freivalds check prepared once for a B that never changes
// (a weight tile of a frozen model, multiplied by every inference step's
// rows): the random vector r, op(B)·r and the other sums over B that a
// check needs. Each check with it costs one pass over A and one over C;
// the pass over B, K·N of the K·N + M·K + M·N that a check costs, is
// not repeated. For an inference tile (M of 8 to 32 rows, K ≥ 128) that
// is most of the check.
//
// Reusing r is as strict as drawing a new one for each check, provided
// that nothing about r reaches a contributor. A wrong result passes only
// if its error happens to be orthogonal to r within the tolerance; a
// contributor choosing its error without knowing r passes with the same
// probability whether r is fresh or not. What a contributor learns from a
// check is its verdict. An accepted result says nothing about r it could
// use (an honest result passes for every r). A refused one might, so the
// owner drops a Frozen after any check that does not pass
// (Borderline included) and draws a new r for the next: what a refusal
// taught is about a vector no longer in use. Uses bounds the rest.
//
// A Frozen is immutable once made and safe for concurrent use.
type Frozen struct {
	op   kernel.Op
	k, n int
	sk   sketch
	used atomic.Int64
}

// NewFrozen prepares a check of products op(A)·op(b) for sh (unbatched;
// M may differ between checks) with a random vector from rng.
func NewFrozen(op kernel.Op, sh kernel.Shape, b []float32, rng *rand.Rand) (*Frozen, error) {
	if sh.Count() != 1 {
		return nil, fmt.Errorf("verify: a frozen check is for one product, not a batch of %d", sh.Count())
	}
	if len(b) != sh.BLen() {
		return nil, fmt.Errorf("verify: B has %d elements, shape %v needs %d", len(b), sh, sh.BLen())
	}
	f := &Frozen{op: op, k: sh.K, n: sh.N}
	f.sk.draw(op, sh, b, rng)
	f.sk.absB(op, sh, b) // now, so that checks never write to the sketch
	return f, nil
}

// Use counts one more check with f and reports whether f may serve it
// (at most FrozenUses do).
func (f *Frozen) Use() bool { return f.used.Add(1) <= FrozenUses }

// Check is Freivalds with f's prepared vector: c = op(a)·op(b) for b the
// matrix f was made from, which the caller vouches for (its digest). It
// returns what Scratch.Freivalds would.
func (f *Frozen) Check(op kernel.Op, sh kernel.Shape, a, b, c []float32) error {
	if op != f.op || sh.K != f.k || sh.N != f.n || sh.Count() != 1 {
		return fmt.Errorf("verify: a frozen check for %v K=%d N=%d was given %v %v", f.op, f.k, f.n, op, sh)
	}
	if err := kernel.Check(op, sh, a, b, c); err != nil {
		return err
	}
	if mm := f.sk.check(op, sh, a, b, c); mm != nil {
		return mm
	}
	return nil
}
