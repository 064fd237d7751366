package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/corpus"
)

// edgeLMSpec is a small language model over a glob of Go files, sized to
// pass its training split's bigram entropy in a few hundred steps.
func edgeLMSpec(tb testing.TB, steps int) train.Spec {
	tb.Helper()
	root, err := corpus.GoRoot(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	s := train.GoCodeLMSpec()
	s.Name = "edge-lm"
	s.Model.NLayer, s.Model.NEmbd, s.Model.NHead, s.Model.NPositions, s.Model.AttnBatch = 1, 64, 2, 64, 16
	s.Corpus = &train.CorpusSpec{Path: filepath.Join(root, "src", "strings", "*.go"), ValidationPercent: 25}
	s.BatchSize, s.MaxSteps, s.EvalEvery, s.EvalWindows, s.CheckpointEvery = 16, steps, steps/6, 32, 25
	s.TileCols = 64 // few, larger tiles: per-task latency dominates so small a model
	s.Optimizer.WarmupSteps = 20
	s.Optimizer.LearningRate, s.Optimizer.MinLR = 1e-2, 1e-3
	// float32 operands: the test compares the edges' run with the local
	// reference to 1e-4, which holds in float32 (the two differ only in
	// the order of sums); bfloat16 rounding can turn that order into a
	// rounding step (hub/train's TestBFloat16Wire covers bfloat16).
	s.WireDType = "float32"
	return s
}

// TestLanguageModelWithEdges trains a small GPT-2 language model through
// a real hub and two real edge processes on lavapipe (every matmul,
// attention included, as verified tiles), kills the hub with SIGKILL once
// mid-training and restarts it, and checks that the job resumed from its
// checkpoint, that its validation loss equals the local reference
// trainer's at every evaluation, and that it ends below the byte-bigram
// entropy of its training split. Then it serves the trained model through
// the same edges (inference_test.go).
func TestLanguageModelWithEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a language model through lavapipe edges for minutes; runs in the full (non -short) pass")
	}
	bins := edgeBinaries(t)
	keys, data := t.TempDir(), t.TempDir()
	var addrs []string
	for i := range 2 {
		addrs = append(addrs, edgeAddress(t, bins, filepath.Join(keys, fmt.Sprintf("edge%d.key", i))))
	}
	args := []string{"--data", data, "--matmul-shape", "off", "--default-job=false", "--own-workers", strings.Join(addrs, ",")}
	hubProc, base := startHubOn(t, bins, "127.0.0.1:0", args)
	hostPort := strings.TrimPrefix(base, "http://")
	spec := edgeLMSpec(t, 600)
	id := createJob(t, base, data, spec)
	for i := range 2 {
		start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", "ws://" + hostPort + "/ws",
			"--key", filepath.Join(keys, fmt.Sprintf("edge%d.key", i)), "--backend", "webgpu", "--progress", "0"}, nil)
	}

	// The local reference runs meanwhile, in this process.
	type localRun struct {
		hist []store.Point
		err  error
	}
	localDone := make(chan localRun, 1)
	go func() {
		d, err := (&train.DataLoader{}).ForSpec(context.Background(), spec)
		if err != nil {
			localDone <- localRun{err: err}
			return
		}
		_, h, err := train.TrainLocal(context.Background(), spec, d, train.LocalOptions{Dir: t.TempDir()})
		localDone <- localRun{h, err}
	}()

	// Kill the hub once, mid-step, between two checkpoints.
	began := time.Now()
	killAt := 160
	waitStep(t, base, killAt, 6*time.Minute)
	seen := getJob(t, base, id).Step
	hubProc.cmd.Process.Kill()
	<-hubProc.done
	hubProc.done <- nil
	hubProc, _ = startHubOn(t, bins, hostPort, args)
	deadline := time.Now().Add(30 * time.Second)
	for resumedLine.FindStringSubmatch(hubProc.output()) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("restarted hub did not resume the job:\n%s", hubProc.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resumed, _ := strconv.Atoi(resumedLine.FindStringSubmatch(hubProc.output())[1])
	t.Logf("killed near step %d, resumed from checkpoint step %d", seen, resumed)
	if resumed > seen || resumed%spec.CheckpointEvery != 0 || seen-resumed > spec.CheckpointEvery+1 {
		t.Errorf("resumed from step %d after a kill at step %d", resumed, seen)
	}

	var d train.JobDetail
	deadline = time.Now().Add(15 * time.Minute)
	for {
		d = getJob(t, base, id)
		if d.State == "done" || d.State == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if d.State != "done" {
		t.Fatalf("job ended %s at step %d: %s", d.State, d.Step, d.Error)
	}
	t.Logf("trained %d steps through two lavapipe edges in %v: step %.0f ms (hub %.0f ms, waiting for contributors %.0f ms), %.0f tokens/s",
		d.Step, time.Since(began).Round(time.Second), d.StepMillis, d.HubMillis, d.WaitMillis, d.TokensPerSecond)

	local := <-localDone
	if local.err != nil {
		t.Fatal(local.err)
	}
	if len(local.hist) != len(d.History) {
		t.Fatalf("%d evaluations through the hub, %d locally", len(d.History), len(local.hist))
	}
	var worst float64
	for i, p := range local.hist {
		h := d.History[i]
		rel := math.Abs(h.BitsPerByte-p.BitsPerByte) / p.BitsPerByte
		worst = max(worst, rel)
		// GPUs sum in other orders than the CPU reference: the runs agree
		// to float32 rounding, which training compounds a little (8.5e-7
		// measured after 600 steps).
		if h.Step != p.Step || rel > 1e-4 {
			t.Errorf("evaluation %d: hub step %d %.4f bits per byte, local step %d %.4f", i, h.Step, h.BitsPerByte, p.Step, p.BitsPerByte)
		}
	}
	dd, err := (&train.DataLoader{}).ForSpec(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	bigram := dd.TrainBigramEntropy()
	last := d.History[len(d.History)-1]
	t.Logf("validation bits per byte at the end: %.3f through edges, %.3f local (largest relative difference %.2e); training split's bigram entropy %.3f",
		last.BitsPerByte, local.hist[len(local.hist)-1].BitsPerByte, worst, bigram)
	if !last.Full || last.BitsPerByte >= bigram {
		t.Errorf("final validation %.3f bits per byte (whole split: %v) is not below the bigram entropy %.3f", last.BitsPerByte, last.Full, bigram)
	}
	// The trained model through the same edges: completions, then a
	// SIGKILL of the hub while completions are being metered.
	var key string
	parent := t
	t.Run("InferenceCompletions", func(t *testing.T) { key = checkCompletionsThroughEdges(t, base, data, id, spec) })
	if key != "" {
		t.Run("CompletionMeteringSurvivesKill", func(t *testing.T) {
			checkMeteringSurvivesKill(t, parent, bins, hostPort, args, &hubProc, data, key, spec.Name)
		})
		t.Run("RevenueClaimsFromEdges", func(t *testing.T) {
			checkRevenueClaims(t, bins, base, data, id, []string{filepath.Join(keys, "edge0.key"), filepath.Join(keys, "edge1.key")})
		})
	}
	st := edgeStatus(t, base)
	if st.TasksRejected != 0 {
		t.Errorf("%d results rejected from honest edges", st.TasksRejected)
	}
}

// waitStep polls the hub's only job until it has applied step steps.
func waitStep(tb testing.TB, base string, step int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, j := range getJobs(tb, base) {
			if j.Step >= step {
				return
			}
			if j.State == "failed" {
				tb.Fatalf("job failed: %s", j.Error)
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no job reached step %d in %v", step, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
