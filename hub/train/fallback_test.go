package train_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
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
