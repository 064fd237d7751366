package train_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train"
)

// ordinarySpec is residentSpec with ordinary keepers under a cap of 0.3:
// the first layer (95% of the weights, eight tiles of 11.9%) fits at no
// fewer than four contributors, two tiles each.
func ordinarySpec() train.Spec {
	s := residentSpec()
	s.OrdinaryKeepers = true
	s.ExposureCap = 0.3
	s.MaxSteps = 16
	return s
}

// ordinaryTolerance bounds the relative difference from the local
// reference after 16 steps: blocks of tiles that are not adjacent sum
// the input gradient in another order than the reference's tiles, and
// over 16 steps with momentum the rounding adds up to about 1.2e-4.
// (A wrong update moves a weight by about 1e-3 of itself.)
const ordinaryTolerance = 3e-4

// ordinaryNetwork is a hub with workers ordinary contributors (no own
// worker), each of which may keep weights after keepAfter clean results;
// worker i runs on devs[i] (a CPU when absent).
// stops[i] disconnects worker i.
func ordinaryNetwork(t *testing.T, workers, keepAfter int, devs ...device.Device) (n *network, stops []func()) {
	n = startLedgerNetwork(t, 0, workers, func(c *hub.Config) { c.Verification.KeepAfter = keepAfter })
	for i := range workers {
		var dev device.Device = device.CPU{}
		if i < len(devs) {
			dev = devs[i]
		}
		stops = append(stops, n.worker(i, dev))
	}
	return n, stops
}

// TestResidentWeightsOrdinaryKeepers: four ordinary contributors train a
// job with ordinary keepers. The first steps are ordinary, until their
// records let them keep weights: they compute the weight gradients, and
// the hub the tiles that carry weights, which nobody receives; then the layers are placed in blocks
// within the cap, given what each has seen, and every later step keeps
// them, with no rollback. Every loss and the final weights equal the
// local reference's, nobody's exposure passes the cap, and no credit is
// refused.
func TestResidentWeightsOrdinaryKeepers(t *testing.T) {
	n, _ := ordinaryNetwork(t, 4, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRunOf(t, n, "ordinary", ordinarySpec())
	firstKept := 0
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
		kept := r.dist.WeightsKept()
		if r.rollbacks > 0 {
			t.Fatalf("step %d: %d rollbacks with honest keepers: %v", r.dist.StepsDone(), r.rollbacks, r.lastRollback)
		}
		switch {
		case !kept && firstKept == 0:
			// Weights reach ordinary contributors only as blocks they
			// keep: the hub computed the ordinary steps' weight tiles.
			if got := r.exposure.MaxFractionNonExempt(); got != 0 {
				t.Fatalf("step %d was ordinary, and a contributor has received %.3f of the weights", r.dist.StepsDone(), got)
			}
		case kept && firstKept == 0:
			firstKept = r.dist.StepsDone()
		case !kept && firstKept > 0 && r.dist.StepsDone() < r.spec.MaxSteps:
			t.Fatalf("step %d was ordinary after step %d kept the weights", r.dist.StepsDone(), firstKept)
		}
	}
	if firstKept == 0 || firstKept > r.spec.MaxSteps/2 {
		t.Fatalf("the weights were first kept at step %d of %d (0: never)", firstKept, r.spec.MaxSteps)
	}
	t.Logf("weights kept from step %d", firstKept)
	r.sameStateWithin(ordinaryTolerance)
	if got := r.exposure.MaxFractionNonExempt(); got > r.spec.ExposureCap+1e-9 {
		t.Errorf("a contributor received %.3f of the weights, above the cap of %.2f", got, r.spec.ExposureCap)
	}
	for i := range 4 {
		if b := n.balance(t, "ordinary", i); flops(t, b.Rejected) != 0 || flops(t, b.Verified) == 0 {
			t.Errorf("worker %d: %v verified, %v rejected", i, b.Verified, b.Rejected)
		}
	}
}

// TestResidentWeightsOrdinaryKeeperCheats: an ordinary keeper whose update
// is wrong is caught by a later product with its block and struck. Only
// its block is lost: the hub rebuilds it from the anchor and the steps'
// records, the job does not go back to its anchor, and every loss and the
// final weights equal the local reference's. The strike started the
// cheater's record over and the other three cannot take its block under
// the cap, so no step right after keeps the weights at it. Its wrong
// update's credit is refused; nobody else's is.
func TestResidentWeightsOrdinaryKeeperCheats(t *testing.T) {
	var left atomic.Int32 // armed once the weights are kept
	// Records that allow keeping after 8 results: the weights are kept
	// from step 2 or 3, and the wrong update is caught by the hand-back
	// at step 5 at the latest (caught at step 10, it carried on for
	// five steps: up to 1.3e-3).
	n, _ := ordinaryNetwork(t, 4, 8, cheatTN{left: &left})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRunOf(t, n, "ordinary", ordinarySpec())
	for !r.dist.WeightsKept() && r.dist.StepsDone() < r.spec.MaxSteps/2 {
		r.step(ctx)
	}
	if !r.dist.WeightsKept() {
		t.Fatalf("the weights were not kept by step %d", r.dist.StepsDone())
	}
	left.Store(1)
	for r.dist.BlocksRecovered() == 0 && r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.dist.BlocksRecovered() == 0 {
		t.Fatal("the wrong update was never caught")
	}
	t.Logf("caught by step %d: %d block(s) recovered", r.dist.StepsDone(), r.dist.BlocksRecovered())
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks != 0 {
		t.Errorf("%d rollbacks: %v", r.rollbacks, r.lastRollback)
	}
	cheater := n.keys[0].Address().Hex()
	if rep, _ := n.h.Reputation(cheater); rep.Strikes == 0 {
		t.Errorf("the cheating keeper was not struck: %+v", rep)
	}
	// The cheater's products before it was caught passed their checks,
	// so agreed with the right weights within the checks' tolerance; the
	// job kept them (it no longer goes back), and their difference
	// carries on (up to 1.3e-3 over five steps; caught at the first
	// hand-back, under 1e-4 here, as rounding alone).
	r.sameStateWithin(1e-3)
	if b := n.balance(t, "ordinary", 0); flops(t, b.Rejected) == 0 {
		t.Errorf("the cheating keeper's credit: %v rejected", b.Rejected)
	}
	for i := 1; i < 4; i++ {
		if b := n.balance(t, "ordinary", i); flops(t, b.Rejected) != 0 {
			t.Errorf("honest worker %d: %v rejected", i, b.Rejected)
		}
	}
}

// TestResidentWeightsOrdinaryKeeperLeaves: a keeper leaves in the middle
// of a run. Its blocks are rebuilt by the hub and the run goes on without
// going back to its anchor, every loss and the final weights equal to the
// local reference's; nobody's credit is refused. The hand-back at step 8
// forgets every block, and the three left cannot hold the first layer
// under the cap (0.9 of the weights between them): the steps after it are
// ordinary, each contributor computes the tiles of the blocks it kept,
// and the hub computes the tiles that only the leaver had received, which
// nobody left may receive (before, such steps waited for a newcomer).
func TestResidentWeightsOrdinaryKeeperLeaves(t *testing.T) {
	n, stops := ordinaryNetwork(t, 4, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	spec := ordinarySpec()
	spec.EvalEvery, spec.CheckpointEvery, spec.MaxSteps = 8, 8, 16
	r := newResidentRunOf(t, n, "ordinary", spec)
	for !r.dist.WeightsKept() && r.dist.StepsDone() < 6 {
		r.step(ctx)
	}
	if !r.dist.WeightsKept() {
		t.Fatalf("the weights were not kept by step %d", r.dist.StepsDone())
	}
	leaver := -1
	keepers := r.dist.Keepers()
	for i := range stops {
		if keepers[n.keys[i].Address().Hex()] {
			leaver = i
		}
	}
	if leaver < 0 {
		t.Fatalf("no worker keeps a block: %v", keepers)
	}
	left := r.dist.StepsDone()
	stops[leaver]()
	var atHandBack uint64
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
		if r.dist.StepsDone() == spec.CheckpointEvery {
			atHandBack = n.h.Status().TasksComputedHere
		}
		if r.dist.StepsDone() > spec.CheckpointEvery && r.dist.WeightsKept() {
			t.Fatalf("step %d kept the weights at three contributors under a cap of 0.3", r.dist.StepsDone())
		}
	}
	after := n.h.Status().TasksComputedHere - atHandBack
	t.Logf("worker %d left after step %d; %d block(s) recovered; %d tasks computed by the hub after the hand-back", leaver, left, r.dist.BlocksRecovered(), after)
	if after == 0 {
		t.Error("no task computed by the hub after the hand-back")
	}
	if r.rollbacks != 0 || r.dist.BlocksRecovered() == 0 {
		t.Errorf("%d rollbacks (%v), %d blocks recovered; want none, and at least one", r.rollbacks, r.lastRollback, r.dist.BlocksRecovered())
	}
	r.sameStateWithin(ordinaryTolerance)
	for i := range 4 {
		if b := n.balance(t, "ordinary", i); flops(t, b.Rejected) != 0 {
			t.Errorf("worker %d: %v rejected", i, b.Rejected)
		}
	}
}
