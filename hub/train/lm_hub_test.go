package train_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/lm/lmtest"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// TestLanguageModelThroughHubMatchesLocal trains a tiny language model
// through a real hub and two contributors (websockets on loopback, the
// CPU kernels), checks its validation loss against the local reference
// trainer at every evaluation, and then exports its weights: the
// safetensors file has GPT-2's names and shapes, reads back to the
// checkpoint's tensors, and its logits under an independent float64
// GPT-2 equal the hub's model's.
func TestLanguageModelThroughHubMatchesLocal(t *testing.T) {
	spec := tinyLMSpec(t, 60)
	spec.Model.NEmbd, spec.Model.NPositions = 32, 16
	spec.EvalEvery, spec.EvalWindows, spec.CheckpointEvery = 20, 8, 20
	spec.ExposureCap = 1 // two contributors
	// In float32 the two runs differ only by the order of float32 sums;
	// bfloat16 rounding can turn that into a rounding step of an operand
	// (TestBFloat16Wire compares the two more loosely).
	spec.WireDType = "float32"
	mgr, srv := startManager(t)
	id, err := mgr.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var st train.JobStatus
	for {
		for _, s := range mgr.Statuses() {
			if s.ID == id {
				st = s
			}
		}
		if st.State == "done" || st.State == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.State != "done" {
		t.Fatalf("job ended %s at step %d: %s", st.State, st.Step, st.Error)
	}
	if st.Model != "gpt2" || st.HubMillis <= 0 || st.WaitMillis <= 0 || st.TokensPerSecond <= 0 || st.BitsPerByte <= 0 || st.Sample == nil {
		t.Errorf("status lacks the language model's figures: %+v", st)
	}
	t.Logf("step %.1f ms: hub %.1f ms, waiting for contributors %.1f ms; %.0f tokens/s", st.StepMillis, st.HubMillis, st.WaitMillis, st.TokensPerSecond)
	// Every step's tiles went over websockets: the wire totals cover at
	// least each task's operands once, for at least the steps' arithmetic.
	if w := st.Wire; w == nil || w.UsefulFLOPs == 0 || w.BytesDown <= 0 || w.BytesUp <= 0 || st.WireBytesPerGFLOP != w.BytesPerGFLOP() || st.WireBytesPerGFLOP <= 0 {
		t.Errorf("wire figures: %v bytes per GFLOP, totals %+v", st.WireBytesPerGFLOP, w)
	} else {
		t.Logf("wire: %.1f MB per useful GFLOP (%d bytes down, %d up, %.3f GFLOP)", st.WireBytesPerGFLOP/1e6, w.BytesDown, w.BytesUp, float64(w.UsefulFLOPs)/1e9)
	}
	code, body := call(t, "GET", srv.URL+"/api/v1/jobs/"+id, "", "")
	if code != 200 {
		t.Fatalf("job detail: %d %v", code, body)
	}
	hub := body["history"].([]any)

	local := trainLocal(t, spec)
	if len(local) != 3 {
		t.Fatalf("%d evaluations locally, want 3", len(local))
	}
	sameHistory(t, hub, local, 1e-4)
	t.Logf("bits per byte, hub vs local: %v / %v", hub, bpb(local))

	// Export.
	resp, err := http.Get(srv.URL + "/api/v1/jobs/" + id + "/weights")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("weights: %d %s", resp.StatusCode, raw)
	}
	f, err := safetensors.Read(raw)
	if err != nil {
		t.Fatalf("the export is not a safetensors file: %v", err)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v lacks format=pt", f.Metadata)
	}
	want := map[string][]int{
		"transformer.wte.weight":             {256, 32},
		"transformer.wpe.weight":             {16, 32},
		"transformer.h.0.ln_1.weight":        {32},
		"transformer.h.0.ln_1.bias":          {32},
		"transformer.h.0.attn.c_attn.weight": {32, 96},
		"transformer.h.0.attn.c_attn.bias":   {96},
		"transformer.h.0.attn.c_proj.weight": {32, 32},
		"transformer.h.0.attn.c_proj.bias":   {32},
		"transformer.h.0.ln_2.weight":        {32},
		"transformer.h.0.ln_2.bias":          {32},
		"transformer.h.0.mlp.c_fc.weight":    {32, 128},
		"transformer.h.0.mlp.c_fc.bias":      {128},
		"transformer.h.0.mlp.c_proj.weight":  {128, 32},
		"transformer.h.0.mlp.c_proj.bias":    {32},
		"transformer.ln_f.weight":            {32},
		"transformer.ln_f.bias":              {32},
	}
	if names := f.Names(); len(names) != len(want) {
		t.Fatalf("tensors %v, want %d", names, len(want))
	}
	var ts []safetensors.Tensor
	for name, shape := range want {
		tn, err := f.Float32(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(tn.Shape) != len(shape) || tn.Shape[0] != shape[0] || (len(shape) == 2 && tn.Shape[1] != shape[1]) {
			t.Errorf("%s has shape %v, GPT-2's is %v", name, tn.Shape, shape)
		}
		ts = append(ts, tn)
	}
	// The hub's model from the same weights, and an independent forward.
	m, err := lm.NewModel(lm.Config{Layers: 1, Embd: 32, Heads: 2, Context: 16, TileCols: 16, AttnBatch: 8}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadTensors(ts); err != nil {
		t.Fatal(err)
	}
	x := []byte("func (s *Split) ")
	got, err := m.Logits(context.Background(), tile.NewLocal(1), x, 1, len(x))
	if err != nil {
		t.Fatal(err)
	}
	ref := lmtest.NewReference(ts, 1, 32, 2, 16).Logits(x)
	for i, row := range ref {
		for v, lw := range row {
			if g := float64(got[i*256+v]); math.Abs(g-lw) > 1e-4*(1+math.Abs(lw)) {
				t.Fatalf("position %d token %d: logit %v, independent forward %v", i, v, g, lw)
			}
		}
	}
	code, cfg := call(t, "GET", srv.URL+"/api/v1/jobs/"+id+"/config.json", "", "")
	if code != 200 || cfg["model_type"] != "gpt2" || cfg["vocab_size"] != 256.0 || cfg["n_embd"] != 32.0 ||
		cfg["n_positions"] != 16.0 || cfg["activation_function"] != "gelu_new" {
		t.Errorf("config.json: %d %v", code, cfg)
	}
	// The job's name (only this job has it) names it as well as its ID.
	if code, byName := call(t, "GET", srv.URL+"/api/v1/jobs/"+spec.Name+"/config.json", "", ""); code != 200 || byName["n_embd"] != 32.0 {
		t.Errorf("config.json by the job's name %q: %d %v", spec.Name, code, byName)
	}
	if code, _ := call(t, "GET", srv.URL+"/api/v1/jobs/no-such-job/config.json", "", ""); code != 404 {
		t.Errorf("config.json of an unknown job: %d, want 404", code)
	}
}
