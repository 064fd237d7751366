package train_test

import (
	"context"
	"fmt"
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
