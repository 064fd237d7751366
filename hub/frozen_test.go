package hub

import (
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestFrozenChecksReuseAndRenew: results against the same frozen B share
// one prepared check until it has served verify.FrozenUses or a check
// with it failed; a B without a digest, or a batch, gets none.
func TestFrozenChecksReuseAndRenew(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]float32, 16*8)
	for i := range b {
		b[i] = rng.Float32()
	}
	task := func(sh kernel.Shape, d digest.D) *Task {
		return &Task{Op: kernel.MatMulNN, Shape: sh, B: b, BDigest: d}
	}
	var fc frozenChecks
	sh := kernel.Shape{M: 4, K: 16, N: 8}
	t1 := task(sh, digest.Of(b))
	first := fc.get(t1, rng)
	if first == nil {
		t.Fatal("no prepared check for a frozen B")
	}
	for i := 1; i < verify.FrozenUses; i++ {
		if f := fc.get(task(kernel.Shape{M: 1 + i%7, K: 16, N: 8}, digest.Of(b)), rng); f != first {
			t.Fatalf("check %d: a new vector while the first had uses left", i+1)
		}
	}
	second := fc.get(t1, rng)
	if second == nil || second == first {
		t.Fatalf("check %d: the worn vector was used again", verify.FrozenUses+1)
	}
	fc.drop(t1, second)
	if third := fc.get(t1, rng); third == nil || third == second {
		t.Fatal("after a failed check the same vector was used again")
	}
	fc.drop(t1, second) // an old one: nothing changes
	if f := fc.get(t1, rng); f == second {
		t.Fatal("dropping a replaced vector brought it back")
	}
	if f := fc.get(task(sh, digest.D{}), rng); f != nil {
		t.Error("a B without a digest got a prepared check")
	}
	if f := fc.get(&Task{Op: kernel.MatMulNN, Shape: kernel.Shape{Batch: 2, M: 4, K: 16, N: 4}, B: b, BDigest: digest.Of(b)}, rng); f != nil {
		t.Error("a batch got a prepared check")
	}
	if f := fc.get(&Task{Op: kernel.MatMulNT, Shape: kernel.Shape{M: 4, K: 8, N: 16}, B: b, BDigest: digest.Of(b)}, rng); f == nil || f == first {
		t.Error("another product with the same B shares a vector made for NN")
	}
}
