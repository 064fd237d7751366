package train_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// TestCappedJobFewContributors: a job whose weights the hub holds, under
// a cap of 0.3 that one contributor cannot cover, trains with a single
// ordinary contributor connected: it computes what the cap lets it
// receive, and the hub computes the tiles nobody connected may take
// (before, they waited for a newcomer, and so did the step). Every loss
// and the final weights equal the local reference's.
func TestCappedJobFewContributors(t *testing.T) {
	n := startLedgerNetwork(t, 0, 1)
	n.worker(0, device.CPU{})
	spec := residentSpec()
	spec.ResidentWeights = false
	spec.ExposureCap = 0.3
	spec.MaxSteps = 6
	r := newResidentRunOf(t, n, "capped", spec)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.finishUnkept(ctx)
	r.sameState()
	got := r.exposure.MaxFractionNonExempt()
	if got == 0 || got > spec.ExposureCap+1e-9 {
		t.Errorf("the contributor received %.3f of the weights, want some, at most the cap of %.2f", got, spec.ExposureCap)
	}
	st := n.h.Status()
	if st.TasksCompleted == 0 || st.TasksComputedHere == 0 {
		t.Errorf("%d tasks completed by the contributor, %d computed by the hub: want both", st.TasksCompleted, st.TasksComputedHere)
	}
	t.Logf("%d tasks completed by the contributor, %d computed by the hub; it received %.3f of the weights", st.TasksCompleted, st.TasksComputedHere, got)
}

// TestOrdinaryKeepersShowNewcomersNothing: a job with ordinary keepers,
// trained and then asked to classify through two contributors whose
// records do not yet let them keep weights (40 steps of weight gradients
// are fewer than the 100 clean results needed): the job finishes, and
// classifies as the hub does, with nobody having received any of its
// weights; the hub computed every tile that carries them, training's and
// inference's.
func TestOrdinaryKeepersShowNewcomersNothing(t *testing.T) {
	mgr, _ := startManager(t)
	ctx := context.Background()
	spec := tinyJob("kept-only")
	spec.OrdinaryKeepers = true
	spec.ExposureCap = 0.6
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	st := waitState(t, mgr, id, "done")
	data, err := (&train.DataLoader{}).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	images := [][]float32{data.Test.Images[:784], data.Test.Images[784 : 2*784]}
	got, _, _, err := mgr.Classify(ctx, id, images, nil) // through the job's inference executor
	if err != nil {
		t.Fatal(err)
	}
	want, _, _, err := mgr.Classify(ctx, id, images, tile.NewLocal(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		for k := range got[i] {
			if d := got[i][k] - want[i][k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("image %d class %d: %v through the job, %v on the hub", i, k, got[i][k], want[i][k])
			}
		}
	}
	for _, s := range mgr.Statuses() {
		if s.ID == id {
			st = s
		}
	}
	if st.Step != spec.MaxSteps || st.MaxExposureNonExempt != 0 {
		t.Errorf("done at step %d of %d, a contributor received %.3f of the weights: want all steps, none", st.Step, spec.MaxSteps, st.MaxExposureNonExempt)
	}
}
