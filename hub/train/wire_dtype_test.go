package train_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/train"
)

// TestBFloat16Wire trains the same small language model twice at once
// through a real hub and CPU contributors, its operands sent in float32
// and in bfloat16: the bfloat16 job's results all pass their checks
// against the rounded operands (the job finishes), it sends about half
// the bytes down, and its validation bits per byte end close to the
// float32 job's.
func TestBFloat16Wire(t *testing.T) {
	mgr, srv := startManager(t)
	ids := map[string]string{}
	specs := map[string]train.Spec{}
	for _, dtype := range []string{"float32", "bfloat16"} {
		spec := tinyLMSpec(t, 60)
		spec.Name = "wire-" + dtype
		spec.Model.NEmbd, spec.Model.NPositions = 32, 32
		spec.EvalEvery, spec.EvalWindows, spec.CheckpointEvery = 60, 16, 60
		spec.ExposureCap = 1
		spec.WireDType = dtype
		id, err := mgr.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[dtype], specs[dtype] = id, spec
	}
	final := map[string]train.JobStatus{}
	deadline := time.Now().Add(4 * time.Minute)
	for len(final) < 2 {
		for _, st := range mgr.Statuses() {
			for dtype, id := range ids {
				if st.ID == id && (st.State == "done" || st.State == "failed") {
					final[dtype] = st
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not done: %+v", final)
		}
		time.Sleep(100 * time.Millisecond)
	}
	f32, bf16 := final["float32"], final["bfloat16"]
	if f32.State != "done" || bf16.State != "done" {
		t.Fatalf("float32 job %s (%s), bfloat16 job %s (%s)", f32.State, f32.Error, bf16.State, bf16.Error)
	}
	down := func(st train.JobStatus) float64 {
		return float64(st.Wire.BytesDown) / (float64(st.Wire.UsefulFLOPs) / 1e9)
	}
	if r := down(bf16) / down(f32); r > 0.6 {
		t.Errorf("bfloat16 sends %.0f%% of float32's bytes down per useful GFLOP, want about half", 100*r)
	}
	if d := math.Abs(bf16.BitsPerByte-f32.BitsPerByte) / f32.BitsPerByte; d > 0.02 {
		t.Errorf("validation: bfloat16 %.4f bits per byte, float32 %.4f (%.1f%% apart)", bf16.BitsPerByte, f32.BitsPerByte, 100*d)
	}
	t.Logf("float32: %.4f bits/byte, %.1f MB/GFLOP down; bfloat16: %.4f bits/byte, %.1f MB/GFLOP down",
		f32.BitsPerByte, down(f32)/1e6, bf16.BitsPerByte, down(bf16)/1e6)

	// The local reference takes the same code path (roundOperands, tested
	// on its own): the same figures up to the order of float32 sums
	// (contributors add blinded, permuted terms), which in bfloat16 can
	// move an operand by a rounding step.
	local := trainLocal(t, specs["bfloat16"])
	code, body := call(t, "GET", srv.URL+"/api/v1/jobs/"+ids["bfloat16"], "", "")
	if code != 200 {
		t.Fatalf("job detail: %d %v", code, body)
	}
	sameHistory(t, body["history"].([]any), local, 1e-3)
}
