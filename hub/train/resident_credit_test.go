package train_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/train"
)

// creditNetwork is a network of own workers whose hub credits a real
// ledger (SQLite in the test's directory).
func creditNetwork(t *testing.T, own int) (*network, *ledger.Ledger) {
	t.Helper()
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	n := newNetworkWith(t, own, 0, func(c *hub.Config) { c.Credits = led })
	t.Cleanup(func() { led.Close() }) // after the hub stops (cleanups run last first)
	return n, led
}

// balance returns worker i's credit in model once every operation the
// hub submitted is committed.
func balance(t *testing.T, n *network, led *ledger.Ledger, model string, i int) ledger.Balance {
	t.Helper()
	if err := led.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs, err := led.Balances(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if strings.EqualFold(b.Address, n.keys[i].Address().Hex()) {
			return b
		}
	}
	return ledger.Balance{Address: n.keys[i].Address().Hex()}
}

// updateFLOPs is what one step's updates of the resident spec's layers
// are worth: Xᵀ·dY for every layer, 2·in·batch·out each.
func updateFLOPs(spec train.Spec) uint64 {
	var f uint64
	ls := spec.Model.Layers
	for l := range len(ls) - 1 {
		f += 2 * uint64(ls[l]) * uint64(spec.BatchSize) * uint64(ls[l+1])
	}
	return f
}

func flops(t *testing.T, a interface{ Uint64() (uint64, bool) }) uint64 {
	t.Helper()
	v, ok := a.Uint64()
	if !ok {
		t.Fatal("credit past 64 bits")
	}
	return v
}

// TestResidentUpdateCreditWaitsForCheck: an update's credit is pending
// until the weights it changed are handed back and checked whole (every 5
// steps here), then verified; the products are verified at once, and an
// honest run ends with every useful FLOP verified, nothing pending or
// rejected.
func TestResidentUpdateCreditWaitsForCheck(t *testing.T) {
	n, led := creditNetwork(t, 1)
	n.worker(0, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	step := updateFLOPs(r.spec)
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
		if r.rollbacks != 0 {
			t.Fatalf("a rollback with an honest worker: %v", r.lastRollback)
		}
		s := r.dist.StepsDone()
		b := balance(t, n, led, "resident", 0)
		want := uint64(s%5) * step // the updates since the last hand-back
		if s == r.spec.MaxSteps {
			want = 0 // the last step hands back too
		}
		if got := flops(t, b.Pending); got != want {
			t.Errorf("after step %d: %d FLOP pending, want %d (%d steps of updates since the hand-back)", s, got, want, want/step)
		}
		if !b.Rejected.IsZero() {
			t.Errorf("after step %d: %s FLOP rejected from an honest worker", s, b.Rejected)
		}
	}
	b := balance(t, n, led, "resident", 0)
	if w := n.h.Wire("resident"); flops(t, b.Verified) != w.UsefulFLOPs {
		t.Errorf("verified credit %s, want every useful FLOP (%d)", b.Verified, w.UsefulFLOPs)
	}
}

// TestResidentUpdateCreditOfWrongUpdate: a wrong update is caught by the
// next product with its weights; the update's credit, still pending, is
// voided with the strike, where it used to be verified on arrival.
func TestResidentUpdateCreditOfWrongUpdate(t *testing.T) {
	n, led := creditNetwork(t, 1)
	var left atomic.Int32
	left.Store(1)
	n.worker(0, cheatTN{left: &left})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	for r.rollbacks == 0 && r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks == 0 {
		t.Fatal("the wrong update was never caught")
	}
	b := balance(t, n, led, "resident", 0)
	// The wrong update and those after it, up to the refused result, were
	// pending (no hand-back came between): the strike voided them all.
	// Updates of the failing step accepted after the strike stay pending
	// (the job threw them away), at most one step's.
	rejected, pending := flops(t, b.Rejected), flops(t, b.Pending)
	if rejected < updateFLOPs(r.spec) || rejected%gcdLayers(r.spec) != 0 {
		t.Errorf("rejected %d FLOP, want at least the wrong step's updates (%d)", rejected, updateFLOPs(r.spec))
	}
	if pending >= updateFLOPs(r.spec) || pending%gcdLayers(r.spec) != 0 {
		t.Errorf("%d FLOP still pending after the strike, want less than one step's updates", pending)
	}
}

// gcdLayers divides every layer's update FLOPs in spec: a sum of whole
// updates is a multiple of it.
func gcdLayers(spec train.Spec) uint64 {
	g := uint64(0)
	ls := spec.Model.Layers
	for l := range len(ls) - 1 {
		a, b := g, 2*uint64(ls[l])*uint64(spec.BatchSize)*uint64(ls[l+1])
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g
}

// TestResidentUpdateCreditOfLostKeeper: the worker keeping the weights
// leaves after step 7; the job goes back to the hand-back of step 5 and
// throws the updates of steps 6 and 7 away. Nothing checked them, so
// their credit stays pending: neither verified nor rejected (and the
// leaver is not struck). The updates of steps 1 to 5 stay verified.
func TestResidentUpdateCreditOfLostKeeper(t *testing.T) {
	n, led := creditNetwork(t, 2)
	stop := n.worker(0, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	for r.dist.StepsDone() < 7 {
		r.step(ctx)
	}
	before := balance(t, n, led, "resident", 0)
	stop()
	n.worker(1, device.CPU{})
	r.step(ctx) // fails: the weights were lost; back to the anchor at 5
	if r.rollbacks != 1 {
		t.Fatalf("%d rollbacks after the keeper left, want 1", r.rollbacks)
	}
	r.awaitKeeper()
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	b := balance(t, n, led, "resident", 0)
	if got := flops(t, b.Pending); got != 2*updateFLOPs(r.spec) {
		t.Errorf("the leaver's pending credit: %d FLOP, want the updates of steps 6 and 7, %d", got, 2*updateFLOPs(r.spec))
	}
	if !b.Rejected.IsZero() || b.Verified.Cmp(before.Verified) != 0 {
		t.Errorf("the leaver's credit went from %+v to %+v: want nothing rejected, nothing more verified", before, b)
	}
	if b2 := balance(t, n, led, "resident", 1); !b2.Pending.IsZero() || !b2.Rejected.IsZero() {
		t.Errorf("the second worker, which finished the run: %+v, want everything verified", b2)
	}
	st, err := led.Standings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for a, s := range st {
		if strings.EqualFold(a, n.keys[0].Address().Hex()) && s.Strikes != 0 {
			t.Errorf("the leaver was struck: %+v", s)
		}
	}
}
