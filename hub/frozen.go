package hub

import (
	"math/rand/v2"
	"sync"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// maxFrozenChecks bounds the prepared checks kept (one per frozen weight
// tile and product kind; a served model has a few hundred at most). At
// the bound the set starts over.
const maxFrozenChecks = 4096

// frozenChecks keeps a verify.Frozen for each frozen B that results are
// checked against (Task.BDigest: the weight tiles of a served model), so
// that the hub sums over a weight tile once per FrozenUses checks instead
// of once per result. Safe for concurrent use (the sessions' readers).
type frozenChecks struct {
	mu sync.Mutex
	m  map[frozenKey]*verify.Frozen
}

type frozenKey struct {
	b    digest.D
	op   kernel.Op
	k, n int
}

// get returns the prepared check for t's B, drawing a new one from rng
// when there is none or it has served its uses; nil when t's B is not
// frozen (no digest) or t is a batch of products.
func (fc *frozenChecks) get(t *Task, rng *rand.Rand) *verify.Frozen {
	if t.BDigest == (digest.D{}) || t.Shape.Count() != 1 {
		return nil
	}
	key := frozenKey{t.BDigest, t.Op, t.Shape.K, t.Shape.N}
	fc.mu.Lock()
	f := fc.m[key]
	fc.mu.Unlock()
	if f != nil && f.Use() {
		return f
	}
	f, err := verify.NewFrozen(t.Op, t.Shape, t.B, rng)
	if err != nil {
		return nil // a malformed task: the ordinary check reports it
	}
	f.Use()
	fc.mu.Lock()
	if fc.m == nil || len(fc.m) >= maxFrozenChecks {
		fc.m = make(map[frozenKey]*verify.Frozen)
	}
	fc.m[key] = f
	fc.mu.Unlock()
	return f
}

// drop forgets f after a check with it did not pass: the next result for
// the same B is checked with a new random vector (verify.Frozen says why).
func (fc *frozenChecks) drop(t *Task, f *verify.Frozen) {
	key := frozenKey{t.BDigest, t.Op, t.Shape.K, t.Shape.N}
	fc.mu.Lock()
	if fc.m[key] == f {
		delete(fc.m, key)
	}
	fc.mu.Unlock()
}
