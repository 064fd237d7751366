package train_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/train"
)

// TestLocalReferenceReachesTarget trains the default MNIST model in one
// process, the baseline the distributed runs are compared with.
func TestLocalReferenceReachesTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST for about 10 s; runs in the full (non -short) pass")
	}
	data, err := (&train.DataLoader{}).Load(context.Background())
	if err != nil {
		t.Fatalf("load MNIST: %v", err)
	}
	spec := train.MNISTSpec()
	spec.TargetAccuracy = 0.95 // the distributed tests go to 0.97; this only proves the path
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	steps := 0
	job, hist, err := train.TrainLocal(ctx, spec, data, train.LocalOptions{Dir: t.TempDir(), OnStep: func(s int, _ float64) { steps = s }})
	if err != nil {
		t.Fatal(err)
	}
	st := job.Status(nil)
	if st.State != "done" || len(hist) == 0 || hist[len(hist)-1].TestAccuracy < spec.TargetAccuracy {
		t.Fatalf("local run ended %s at step %d: %+v", st.State, st.Step, hist)
	}
	if steps != st.Step {
		t.Errorf("OnStep saw %d steps, the job reports %d", steps, st.Step)
	}
	t.Logf("local reference: %.2f%% at step %d, %.1f ms/step", 100*hist[len(hist)-1].TestAccuracy, st.Step, st.StepMillis)
}
