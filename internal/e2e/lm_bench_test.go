package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// BenchmarkLanguageModel is `make lm`: the default gocode-lm job through
// a real hub and two lavapipe edge processes for LM_MINUTES minutes (30 by
// default), ending with the job's evaluation of the whole validation
// split; and the local reference trainer's step time on the same machine
// before it. The number of steps is fixed up front from a short
// calibration job, so that the learning-rate schedule ends with the run.
func BenchmarkLanguageModel(b *testing.B) {
	minutes := 30.0
	if v, err := strconv.ParseFloat(os.Getenv("LM_MINUTES"), 64); err == nil && v > 0 {
		minutes = v
	}
	spec := train.GoCodeLMSpec()

	// The local reference's pace, in this process, before anything else
	// runs.
	data, err := (&train.DataLoader{}).ForSpec(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("training split's bigram entropy %.3f bits per byte", data.TrainBigramEntropy())
	// Steps driven directly: TrainLocal would end with an evaluation of
	// the whole validation split.
	tr, err := lm.NewTrainer(lm.Config{Layers: spec.Model.NLayer, Embd: spec.Model.NEmbd, Heads: spec.Model.NHead,
		Context: spec.Model.NPositions, TileCols: spec.TileCols, AttnBatch: spec.Model.AttnBatch},
		lm.OptConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, MaxSteps: 20}, spec.BatchSize, spec.Seed)
	if err != nil {
		b.Fatal(err)
	}
	var blocked atomic.Int64
	exec := tile.Timed(tile.NewLocal(0), &blocked)
	t0 := time.Now()
	const paceSteps = 10
	for step := range paceSteps {
		w, err := data.Text.TrainWindows(spec.Seed, step, spec.BatchSize, spec.Model.NPositions)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Step(context.Background(), exec, w); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(t0) / paceSteps
	tiles := time.Duration(blocked.Load()) / paceSteps
	b.Logf("local reference: %.0f ms/step (hub %.0f ms, waiting for its tiles %.0f ms), %.0f tokens/s",
		ms(took), ms(took-tiles), ms(tiles), float64(spec.BatchSize*spec.Model.NPositions)/took.Seconds())

	base, dir, _ := lmEdges(b, edgeBinaries(b))
	pace := calibrate(b, base, dir, spec)
	steps := int(minutes * 60 * float64(time.Second) / float64(pace))
	b.Logf("calibration through two lavapipe edges: %.0f ms/step: %d steps fit in %.0f minutes", ms(pace), steps, minutes)

	spec.MaxSteps = max(steps, spec.Optimizer.WarmupSteps+1)
	spec.EvalEvery = max(spec.MaxSteps/10, 1)
	began := time.Now()
	b.ResetTimer()
	id := createJob(b, base, dir, spec)
	d := waitDone(b, base, id, time.Duration(3*minutes+60)*time.Minute)
	b.StopTimer()
	last := d.History[len(d.History)-1]
	b.Logf("gocode-lm through two lavapipe edges: %d steps in %v; whole validation split %.3f bits per byte (full %v); "+
		"step %.0f ms (hub %.0f ms = %.0f%%, waiting for contributors %.0f ms), %.0f tokens/s",
		d.Step, time.Since(began).Round(time.Second), last.BitsPerByte, last.Full, d.StepMillis, d.HubMillis,
		100*d.HubMillis/d.StepMillis, d.WaitMillis, d.TokensPerSecond)
	for _, p := range d.History {
		b.Logf("  step %5d  train loss %.3f  validation %.3f bits/byte  %.0f tokens/s  full %v", p.Step, p.TrainLoss, p.BitsPerByte, p.TokensPerSecond, p.Full)
	}
	if d.Sample != nil {
		b.Logf("sample at step %d:\n%s%s", d.Sample.Step, d.Sample.Prompt, d.Sample.Text)
	}
	b.ReportMetric(last.BitsPerByte, "bits/byte")
	b.ReportMetric(d.TokensPerSecond, "tokens/s")
	b.ReportMetric(d.HubMillis/d.StepMillis, "hub-share")
}

// waitDone polls a job until it is done and returns it.
func waitDone(tb testing.TB, base, id string, within time.Duration) train.JobDetail {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		d := getJob(tb, base, id)
		if d.State == "done" {
			return d
		}
		if d.State == "failed" || time.Now().After(deadline) {
			tb.Fatalf("job %s is %s at step %d: %s", id, d.State, d.Step, d.Error)
		}
		time.Sleep(time.Second)
	}
}

// adminDelete removes a job with the hub's admin token.
func adminDelete(tb testing.TB, base, dataDir, id string) {
	tb.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest("DELETE", base+"/api/v1/admin/jobs/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("delete job %s: HTTP %d", id, resp.StatusCode)
	}
}

// BenchmarkLanguageModelPace compares the WebGPU kernel families a CPU
// adapter can run (RegBlock, and Vec4 with RegBlock for unaligned
// shapes) where they matter: gocode-lm's step time through a real hub and
// two lavapipe edge processes, each forced to one family (--family), in
// alternating rounds. It reports each family's mean ms per step and
// RegBlock's over Vec4's.
func BenchmarkLanguageModelPace(b *testing.B) {
	bins := edgeBinaries(b)
	spec := train.GoCodeLMSpec()
	families := []string{"regblock", "vec4"}
	total := make(map[string]time.Duration)
	const rounds = 2
	for round := range rounds {
		for _, f := range families {
			base, dir, stop := lmEdges(b, bins, "--family", f)
			pace := calibrate(b, base, dir, spec)
			stop()
			b.Logf("round %d, %s kernels: %.0f ms/step", round+1, f, ms(pace))
			total[f] += pace
		}
	}
	for _, f := range families {
		b.ReportMetric(ms(total[f]/rounds), "ms/step-"+f)
	}
	b.ReportMetric(float64(total["regblock"])/float64(total["vec4"]), "regblock/vec4")
}

// lmEdges starts a hub with no jobs and two lavapipe edge processes as its
// own workers (with extra edge flags), and returns the hub's base URL and
// data directory, and a function that stops all three.
func lmEdges(b *testing.B, bins string, edgeFlags ...string) (base, dir string, stop func()) {
	b.Helper()
	keys := b.TempDir()
	dir = b.TempDir()
	var addrs []string
	for i := range 2 {
		addrs = append(addrs, edgeAddress(b, bins, filepath.Join(keys, fmt.Sprintf("edge%d.key", i))))
	}
	hub, base := startHubOn(b, bins, "127.0.0.1:0", []string{"--data", dir, "--matmul-shape", "off", "--default-job=false",
		"--epoch", "1h", "--own-workers", strings.Join(addrs, ",")})
	var edges []*proc
	for i := range 2 {
		args := append([]string{"--hub", "ws" + strings.TrimPrefix(base, "http") + "/ws",
			"--key", filepath.Join(keys, fmt.Sprintf("edge%d.key", i)), "--backend", "webgpu", "--progress", "0"}, edgeFlags...)
		edges = append(edges, start(b, filepath.Join(bins, "tessera-edge"), args, nil))
	}
	return base, dir, func() {
		for _, e := range edges {
			e.stop(b)
		}
		hub.stop(b)
	}
}

// calibrate runs a copy of spec through the hub at base and returns its
// pace from step 10 to 110. The copy is deleted before it ends (its end
// would evaluate the whole validation split).
func calibrate(b *testing.B, base, dir string, spec train.Spec) time.Duration {
	b.Helper()
	// 100 steps with the spec's checkpoints, after 10 to warm up: 20
	// steps without checkpoints once measured 515 ms a step for a run
	// whose steps then averaged 585 ms.
	const warm, measured = 10, 100
	cal := spec
	cal.Name, cal.EvalEvery, cal.EvalWindows = "calibration", 1000, 1
	calID := createJob(b, base, dir, cal)
	waitStep(b, base, warm, 30*time.Minute)
	t1 := time.Now()
	waitStep(b, base, warm+measured, 30*time.Minute)
	pace := time.Since(t1) / measured
	adminDelete(b, base, dir, calID)
	return pace
}
