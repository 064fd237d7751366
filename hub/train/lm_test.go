package train_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/corpus"
)

// tinyLMSpec is a language model small enough to train in seconds on a
// glob of Go files: one block, 64 wide, 64 bytes of context. (Training
// one below its corpus's bigram entropy, through edges and locally, is
// internal/e2e's TestLanguageModelWithEdges.)
func tinyLMSpec(tb testing.TB, steps int) train.Spec {
	tb.Helper()
	root, err := corpus.GoRoot(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	s := train.GoCodeLMSpec()
	s.Name = "tiny-lm"
	s.Model.NLayer, s.Model.NEmbd, s.Model.NHead, s.Model.NPositions, s.Model.AttnBatch = 1, 64, 2, 64, 8
	s.Corpus = &train.CorpusSpec{Path: filepath.Join(root, "src", "strings", "*.go"), ValidationPercent: 25}
	s.BatchSize, s.MaxSteps, s.EvalEvery, s.EvalWindows, s.CheckpointEvery = 16, steps, steps/4, 32, steps/2
	s.TileCols = 16
	s.Optimizer.WarmupSteps = 20
	s.Optimizer.LearningRate, s.Optimizer.MinLR = 1e-2, 1e-3
	return s
}

func bpb(h []store.Point) []string {
	var out []string
	for _, p := range h {
		out = append(out, fmt.Sprintf("%d:%.3f", p.Step, p.BitsPerByte))
	}
	return out
}

// trainLocal trains spec with the local reference and returns its
// evaluation history.
func trainLocal(tb testing.TB, spec train.Spec) []store.Point {
	tb.Helper()
	data, err := (&train.DataLoader{}).ForSpec(context.Background(), spec)
	if err != nil {
		tb.Fatal(err)
	}
	_, hist, err := train.TrainLocal(context.Background(), spec, data, train.LocalOptions{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	return hist
}

// sameHistory checks a job's history as the API returns it against the
// local reference's: the same steps, bits per byte within rel.
func sameHistory(tb testing.TB, hub []any, local []store.Point, rel float64) {
	tb.Helper()
	if len(hub) != len(local) || len(local) == 0 {
		tb.Fatalf("%d evaluations through the hub, %d locally", len(hub), len(local))
	}
	for i, p := range local {
		h := hub[i].(map[string]any)
		got := h["bits_per_byte"].(float64)
		if int(h["step"].(float64)) != p.Step || math.Abs(got-p.BitsPerByte) > rel*p.BitsPerByte {
			tb.Errorf("evaluation %d: hub step %v %.6f bits per byte, local step %d %.6f", i, h["step"], got, p.Step, p.BitsPerByte)
		}
	}
}
