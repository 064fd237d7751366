package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/ckpt"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// residentSpec is smallSpec trained with SGD and momentum, handing the
// weights back every 5 steps, in float32 on the wire so that the run can
// be compared with the local reference exactly.
func residentSpec() train.Spec {
	s := smallSpec()
	s.Optimizer = train.OptimizerSpec{Type: "sgd", LearningRate: 0.05, Momentum: 0.9}
	s.ResidentWeights = true
	s.OrdinaryKeepers = false // own workers keep; ordinary_keepers_test.go has the rest
	s.WireDType = "float32"
	s.EvalEvery, s.CheckpointEvery, s.MaxSteps = 5, 5, 12
	return s
}

// residentRun trains a resident trainer against a local reference of the
// same spec, resident off, on the same batches.
type residentRun struct {
	t            *testing.T
	name         string
	spec         train.Spec
	dist, local  *train.Trainer
	remote       *train.Remote
	exposure     *train.Exposure
	hub          *hub.Hub
	batches      [][]float32
	labels       [][]uint8
	localLosses  []float64
	rollbacks    int
	lastRollback error
}

func newResidentRun(t *testing.T, n *network, name string) *residentRun {
	return newResidentRunOf(t, n, name, residentSpec())
}

func newResidentRunOf(t *testing.T, n *network, name string, spec train.Spec) *residentRun {
	r := &residentRun{t: t, name: name, spec: spec}
	var err error
	if r.dist, err = train.NewTrainer(r.spec); err != nil {
		t.Fatal(err)
	}
	plain := r.spec
	plain.ResidentWeights = false
	if r.local, err = train.NewTrainer(plain); err != nil {
		t.Fatal(err)
	}
	// No cap for an own worker's resident weights (it keeps whole layers,
	// and this exposure exempts nobody); the spec's for ordinary keepers,
	// and for weights the hub holds.
	limit := 1.0
	if spec.OrdinaryKeepers || !spec.ResidentWeights {
		limit = spec.ExposureCap
	}
	r.exposure = train.NewExposure(limit, r.dist.TileFractions(), nil, nil, func(string, int) error { return nil })
	r.remote = train.NewRemote(name, n.h, r.exposure)
	if spec.OrdinaryKeepers {
		r.remote.SetKeptOnly() // as a job's manager does
	}
	n.h.AddSource(r.remote)
	r.dist.SetKeeper(r.remote) // as a job's trainer has
	r.hub = n.h
	rng := rand.New(rand.NewPCG(5, 6))
	for range r.spec.MaxSteps {
		x, y := syntheticBatch(rng, r.spec.BatchSize)
		r.batches, r.labels = append(r.batches, x), append(r.labels, y)
	}
	return r
}

// finishUnkept runs the remaining steps, none of which may keep the
// weights (no own worker is connected).
func (r *residentRun) finishUnkept(ctx context.Context) {
	r.t.Helper()
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
		if r.dist.WeightsKept() {
			r.t.Fatalf("step %d kept the weights with no own worker connected", r.dist.StepsDone())
		}
	}
}

// awaitKeeper waits until an own worker that may keep the weights has
// connected, so that the next step keeps them.
func (r *residentRun) awaitKeeper() {
	for !r.hub.Keeps(r.name, 1) {
		time.Sleep(time.Millisecond)
	}
}

// mnistResidentRun is a resident run of the MNIST model's shape (784-256-
// 256-10, each layer one tile), whose ctx ends with the test.
func mnistResidentRun(t *testing.T, n *network) (*residentRun, context.Context) {
	spec := residentSpec()
	spec.Model.Layers, spec.TileCols = []int{784, 256, 256, 10}, 256
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return newResidentRunOf(t, n, "resident", spec), ctx
}

// alwaysKeeper says a keeper is always there, and never strands a layer:
// a trainer that installs its weights without asking the hub, whose own
// accounting of workers' room is then what decides.
type alwaysKeeper struct{}

func (alwaysKeeper) Keeps(int64) bool            { return true }
func (alwaysKeeper) Strand(k *hub.Kept) bool     { return false }
func (alwaysKeeper) Holders() []train.Holder     { return nil }
func (alwaysKeeper) Reserve(string, []int) error { return nil }

// step runs the resident trainer's next step (which may be a step redone
// after a rollback) and, the first time a step number is reached, the
// reference's; losses must agree.
func (r *residentRun) step(ctx context.Context) {
	r.t.Helper()
	s := r.dist.StepsDone()
	loss, err := r.dist.Step(ctx, r.remote, r.batches[s], r.labels[s])
	if errors.Is(err, hub.ErrKeptLost) {
		r.rollbacks++
		r.lastRollback = err
		return
	}
	if err != nil {
		r.t.Fatalf("step %d: %v", s+1, err)
	}
	for len(r.localLosses) <= s {
		ls := len(r.localLosses)
		ll, err := r.local.Step(ctx, tile.NewLocal(2), r.batches[ls], r.labels[ls])
		if err != nil {
			r.t.Fatal(err)
		}
		r.localLosses = append(r.localLosses, ll)
	}
	if ll := r.localLosses[s]; math.Abs(loss-ll) > 1e-5*math.Abs(ll) {
		r.t.Errorf("step %d: loss %.7f through resident weights, %.7f in the local reference", s+1, loss, ll)
	}
}

// sameState fails unless both trainers' checkpoints hold the same
// parameters and momentum, to float32 rounding.
func (r *residentRun) sameState() { r.sameStateWithin(1e-4) }

// sameStateWithin is sameState with a relative tolerance of tol.
func (r *residentRun) sameStateWithin(tol float64) {
	r.t.Helper()
	dir := r.t.TempDir()
	read := func(tr *train.Trainer, name string) ckpt.State {
		p := filepath.Join(dir, name)
		if err := tr.SaveCheckpoint(p); err != nil {
			r.t.Fatal(err)
		}
		st, err := ckpt.Read(p)
		if err != nil {
			r.t.Fatal(err)
		}
		return st
	}
	a, b := read(r.dist, "dist"), read(r.local, "local")
	if a.Step != b.Step || len(a.Vectors) != len(b.Vectors) {
		r.t.Fatalf("states at step %d and %d, %d and %d vectors", a.Step, b.Step, len(a.Vectors), len(b.Vectors))
	}
	var worst float64
	for v := range a.Vectors {
		for i, x := range a.Vectors[v] {
			y := b.Vectors[v][i]
			worst = max(worst, math.Abs(float64(x-y))/max(math.Abs(float64(y)), 1e-3))
		}
	}
	r.t.Logf("step %d: parameters and momentum within %.2g (relative) of the local reference", a.Step, worst)
	if worst > tol {
		r.t.Errorf("the weights handed back differ from the local reference's by %.3g (relative)", worst)
	}
}

// TestResidentWeightsThroughHub trains with one own worker keeping the
// weights: every loss and the weights handed back at the end equal the
// local reference's, the hub checked every product without holding the
// weights, the updates' credit was pending exactly until a hand-back
// checked them, and far fewer bytes crossed the link than without
// residence.
func TestResidentWeightsThroughHub(t *testing.T) {
	n := startOwnNetwork(t, 1)
	n.worker(0, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	step := updateFLOPs(r.spec)
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
		s := r.dist.StepsDone()
		if !r.dist.WeightsKept() || r.rollbacks > 0 {
			t.Fatalf("step %d: the own worker does not keep the weights (%d rollbacks: %v)", s, r.rollbacks, r.lastRollback)
		}
		// An update's credit is pending until the weights are handed
		// back (every 5 steps, and at the last) and pass their check.
		b := n.balance(t, "resident", 0)
		want := uint64(s%5) * step
		if s == r.spec.MaxSteps {
			want = 0
		}
		if got := flops(t, b.Pending); got != want || !b.Rejected.IsZero() {
			t.Errorf("after step %d: %d FLOP pending (want %d, the updates since the hand-back), %s rejected", s, got, want, b.Rejected)
		}
	}
	if b, w := n.balance(t, "resident", 0), n.h.Wire("resident"); flops(t, b.Verified) != w.UsefulFLOPs {
		t.Errorf("verified credit %s, want every useful FLOP (%d)", b.Verified, w.UsefulFLOPs)
	}
	r.sameState()
	st := n.h.Status()
	if st.TasksCompleted == 0 || st.TasksRejected != 0 {
		t.Errorf("hub status: %+v", st)
	}

	// The same steps without residence, on the same hub, for the bytes.
	plainSpec := r.spec
	plainSpec.ResidentWeights = false
	plain, _ := train.NewTrainer(plainSpec)
	exp := train.NewExposure(1, plain.TileFractions(), nil, nil, func(string, int) error { return nil })
	remote := train.NewRemote("plain", n.h, exp)
	n.h.AddSource(remote)
	for s := range r.spec.MaxSteps {
		if _, err := plain.Step(ctx, remote, r.batches[s], r.labels[s]); err != nil {
			t.Fatal(err)
		}
	}
	res, pl := n.h.Wire("resident"), n.h.Wire("plain")
	perGFLOP := func(w hub.WireStats) float64 { return float64(w.BytesDown+w.BytesUp) / (float64(w.UsefulFLOPs) / 1e9) }
	t.Logf("bytes per useful GFLOP over %d steps: %.1f MB resident (%d down, %d up), %.1f MB plain (%d down, %d up)",
		r.spec.MaxSteps, perGFLOP(res)/1e6, res.BytesDown, res.BytesUp, perGFLOP(pl)/1e6, pl.BytesDown, pl.BytesUp)
	if res.UsefulFLOPs != pl.UsefulFLOPs {
		t.Errorf("useful FLOPs %d resident, %d plain: the same steps should count the same", res.UsefulFLOPs, pl.UsefulFLOPs)
	}
	if !(perGFLOP(res) < 0.75*perGFLOP(pl)) {
		t.Errorf("resident weights did not cut the bytes per useful GFLOP by a quarter")
	}
}

// TestResidentWeightsSurviveLostWorker: the own worker keeping the weights
// leaves after step 7; the next step fails with the weights lost, training
// goes back to the anchor at step 5, a second own worker takes over, and
// the run still ends with the local reference's weights. The leaver's
// last two steps of updates stay pending, unblamed.
func TestResidentWeightsSurviveLostWorker(t *testing.T) {
	n := startOwnNetwork(t, 2)
	stop := n.worker(0, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	for r.dist.StepsDone() < 7 {
		r.step(ctx)
	}
	before := n.balance(t, "resident", 0)
	stop()
	n.worker(1, device.CPU{})
	r.step(ctx)
	if r.rollbacks != 1 || r.dist.StepsDone() != 5 {
		t.Fatalf("after the worker left: %d rollbacks, at step %d; want 1, back at the anchor 5 (%v)", r.rollbacks, r.dist.StepsDone(), r.lastRollback)
	}
	r.awaitKeeper()
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks != 1 {
		t.Errorf("%d rollbacks in all, want 1: %v", r.rollbacks, r.lastRollback)
	}
	r.sameState()
	// The updates of steps 6 and 7 were thrown away unchecked: their
	// credit stays pending, neither verified nor rejected, and the leaver
	// is not struck; the worker that finished has nothing pending.
	b := n.balance(t, "resident", 0)
	if got := flops(t, b.Pending); got != 2*updateFLOPs(r.spec) || !b.Rejected.IsZero() || b.Verified.Cmp(before.Verified) != 0 {
		t.Errorf("the leaver's credit went from %+v to %+v: want steps 6 and 7's updates (%d FLOP) left pending, nothing rejected or verified since",
			before, b, 2*updateFLOPs(r.spec))
	}
	if b := n.balance(t, "resident", 1); !b.Pending.IsZero() || !b.Rejected.IsZero() {
		t.Errorf("the worker that finished the run: %+v, want everything verified", b)
	}
	st, err := n.led.Standings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for a, s := range st {
		if strings.EqualFold(a, n.keys[0].Address().Hex()) && s.Strikes != 0 {
			t.Errorf("the leaver was struck: %+v", s)
		}
	}
}

// cheatTN is a worker device that gets its first few weight gradients
// slightly wrong, as a worker saving work on its updates would.
type cheatTN struct {
	device.CPU
	left *atomic.Int32 // wrong gradients still to make
}

func (d cheatTN) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := d.CPU.Run(ctx, op, s, a, b, c); err != nil {
		return err
	}
	if op == kernel.MatMulTN && d.left.Add(-1) >= 0 {
		c[len(c)/2] += 1e-3
	}
	return nil
}

// TestResidentWeightsCatchCheatingWorker: an own worker whose update is
// wrong is caught by a later product made with its weights, and refused
// (and the wrong update's pending credit is voided);
// training goes back to the anchor and installs the weights again on the
// same connection (dropping what it kept), and the run ends with the
// local reference's weights.
func TestResidentWeightsCatchCheatingWorker(t *testing.T) {
	n := startOwnNetwork(t, 1)
	var left atomic.Int32
	left.Store(1)
	n.worker(0, cheatTN{left: &left})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.awaitKeeper()
	failed := 0
	for r.rollbacks == 0 && r.dist.StepsDone() < r.spec.MaxSteps {
		failed = r.dist.StepsDone() + 1
		r.step(ctx)
	}
	if r.rollbacks == 0 {
		t.Fatal("wrong updates were never caught")
	}
	t.Logf("caught in step %d, back to step %d: %v", failed, r.dist.StepsDone(), r.lastRollback)
	if st := n.h.Status(); st.TasksRejected == 0 {
		t.Errorf("no result was refused: %+v", st)
	}
	// The wrong update and those after it were pending (no hand-back came
	// between): the strike voided them. Updates of the failing step that
	// came after the strike stay pending: at most one step's. The job
	// hears of the refusal (its task fails) before the hub submits the
	// void, so the void may not be in the ledger yet: wait for it.
	step := updateFLOPs(r.spec)
	b := n.balance(t, "resident", 0)
	for deadline := time.Now().Add(10 * time.Second); flops(t, b.Rejected) < step && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		b = n.balance(t, "resident", 0)
	}
	rejected, pending := flops(t, b.Rejected), flops(t, b.Pending)
	if rejected < step || rejected%gcdLayers(r.spec) != 0 || pending >= step || pending%gcdLayers(r.spec) != 0 {
		t.Errorf("after the strike: %d FLOP rejected (want at least the wrong step's updates, %d), %d pending (want under one step's)", rejected, step, pending)
	}
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks != 1 {
		t.Errorf("%d rollbacks, want 1: %v", r.rollbacks, r.lastRollback)
	}
	r.sameState()
}

// TestResidentWeightsShareWorkersCaches: own workers offer 2 MiB of operand
// cache each; the MNIST model's first two layers with their momentum (1.6
// MB and 0.5 MB) do not fit in one. The first worker takes the first
// layer; the second layer's tasks wait, with the first worker idle, until
// a second worker connects and keeps it; training runs without a rollback
// to the reference's weights.
func TestResidentWeightsShareWorkersCaches(t *testing.T) {
	n := startOwnNetwork(t, 2)
	n.workerWithCache(0, device.CPU{}, 2)
	r, ctx := mnistResidentRun(t, n)
	// The hub's room accounting is under test: a trainer asking first
	// (Hub.Keeps) would not install layers that no one worker can hold.
	r.dist.SetKeeper(alwaysKeeper{})
	first := make(chan struct{})
	go func() { defer close(first); r.step(ctx) }()
	// Wait for the first layer's forward product to be done and the
	// second layer's to be queued with nothing in flight.
	for st := n.h.Status(); st.TasksCompleted == 0 || st.TasksQueued == 0 || st.TasksInFlight > 0; st = n.h.Status() {
		select {
		case <-first:
			t.Fatalf("step 1 ended with one worker whose cache cannot hold two layers: %d rollbacks (%v)", r.rollbacks, r.lastRollback)
		case <-time.After(time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond) // a task wrongly leased would fail by now
	if st := n.h.Status(); st.TasksQueued == 0 || st.TasksRejected > 0 {
		t.Fatalf("the second layer's task did not wait for room: %+v", st)
	}
	n.workerWithCache(1, device.CPU{}, 2)
	<-first
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks > 0 {
		t.Fatalf("%d rollbacks: %v", r.rollbacks, r.lastRollback)
	}
	r.sameState()
}

// TestResidentWeightsFollowTheKeeper: a trainer with resident weights whose
// keeper check is the hub's (as a job's is) trains the ordinary way through
// an ordinary contributor while no own worker is connected; keeps the
// weights at the own worker from the first step after it connects; and
// when it leaves, goes back to the anchor and carries on the ordinary way.
// The run ends with the local reference's weights.
func TestResidentWeightsFollowTheKeeper(t *testing.T) {
	n := newNetwork(t, 1, 1) // key 0 an own worker, key 1 an ordinary one
	n.worker(1, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	kept := func() []bool {
		var out []bool
		for range 3 {
			r.step(ctx)
			out = append(out, r.dist.WeightsKept())
		}
		return out
	}
	if got := kept(); slices.Contains(got, true) {
		t.Fatalf("steps 1-3 without an own worker kept the weights: %v", got)
	}
	stop := n.worker(0, device.CPU{})
	r.awaitKeeper()
	if got := kept(); slices.Contains(got, false) {
		t.Fatalf("steps 4-6 with an own worker connected: weights kept %v", got)
	}
	stop()
	for n.h.Keeps("resident", 1) {
		time.Sleep(time.Millisecond)
	}
	r.step(ctx) // step 7 fails: the weights left with the worker
	if r.rollbacks != 1 || r.dist.StepsDone() != 5 || r.dist.WeightsKept() {
		t.Fatalf("after the own worker left: %d rollbacks, at step %d, weights kept %v; want 1, back at the anchor 5, not kept (%v)",
			r.rollbacks, r.dist.StepsDone(), r.dist.WeightsKept(), r.lastRollback)
	}
	r.finishUnkept(ctx)
	if r.rollbacks != 1 {
		t.Errorf("%d rollbacks in all, want 1: %v", r.rollbacks, r.lastRollback)
	}
	// The ordinary contributor's tasks are blinded: a permutation of the
	// inner dimension, drawn per run, reorders its sums, so its results
	// differ from the reference's by rounding, and differently each run
	// (1e-4 to 2e-4 of the state after 12 steps, against 7e-5 or less
	// when the ordinary steps are unblinded).
	r.sameStateWithin(1e-3)
	if st := n.h.Status(); st.TasksRejected != 0 {
		t.Errorf("%d results refused with honest workers", st.TasksRejected)
	}
}

// TestResidentWeightsNeedRoom: an own worker whose operand cache cannot
// hold every layer at once (MNIST's three, 2.15 MB with their momentum,
// against 2 MiB, which holds the largest) is not taken for a keeper: the
// steps are ordinary and complete, rather than leave a layer waiting for
// room that never comes. A worker with room that connects later keeps the
// weights from the next step.
func TestResidentWeightsNeedRoom(t *testing.T) {
	n := startOwnNetwork(t, 2)
	n.workerWithCache(0, device.CPU{}, 2)
	r, ctx := mnistResidentRun(t, n)
	r.awaitKeeper() // connected, though without room for every layer
	for range 2 {
		r.step(ctx)
		if r.dist.WeightsKept() {
			t.Fatalf("step %d: weights kept by a worker whose cache cannot hold every layer", r.dist.StepsDone())
		}
	}
	n.workerWithCache(1, device.CPU{}, 4)
	for !n.h.Keeps("resident", 3<<20) {
		time.Sleep(time.Millisecond)
	}
	r.step(ctx)
	if !r.dist.WeightsKept() {
		t.Fatal("step 3: a worker with room is connected, and the weights are not kept")
	}
	for r.dist.StepsDone() < r.spec.MaxSteps {
		r.step(ctx)
	}
	if r.rollbacks > 0 {
		t.Fatalf("%d rollbacks: %v", r.rollbacks, r.lastRollback)
	}
	r.sameState()
}

// leavingKeeper is a job's Remote as its Keeper, except that the first time
// it reports a keeper it makes that keeper leave: the weights are then
// installed for a worker that is gone before it takes a task.
type leavingKeeper struct {
	*train.Remote
	leave func()
	once  sync.Once
}

func (k *leavingKeeper) Keeps(bytes int64) bool {
	ok := k.Remote.Keeps(bytes)
	if ok {
		k.once.Do(k.leave)
	}
	return ok
}

// TestResidentWeightsStrandedKeeper: the own worker leaves between the
// trainer's check for a keeper and its first task, so the step's layers
// have no holder and no connection may take them (the ordinary worker is
// not trusted). The step fails within the trainer's watch instead of
// waiting forever, goes back to the anchor, and training carries on the
// ordinary way to the local reference's weights.
func TestResidentWeightsStrandedKeeper(t *testing.T) {
	n := newNetwork(t, 1, 1)
	stop := n.worker(0, device.CPU{})
	n.worker(1, device.CPU{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := newResidentRun(t, n, "resident")
	r.dist.SetKeeper(&leavingKeeper{Remote: r.remote, leave: func() {
		stop()
		for n.h.Keeps("resident", 1) {
			time.Sleep(time.Millisecond)
		}
	}})
	r.awaitKeeper()
	stepCtx, stepCancel := context.WithTimeout(ctx, 20*time.Second)
	r.step(stepCtx)
	stepCancel()
	if r.rollbacks != 1 || r.dist.StepsDone() != 0 || r.dist.WeightsKept() {
		t.Fatalf("step 1 with its keeper gone: %d rollbacks, at step %d, weights kept %v; want 1, at step 0, not kept (%v)",
			r.rollbacks, r.dist.StepsDone(), r.dist.WeightsKept(), r.lastRollback)
	}
	r.finishUnkept(ctx)
	r.sameStateWithin(1e-3) // the ordinary worker's tasks are blinded (TestResidentWeightsFollowTheKeeper)
}
