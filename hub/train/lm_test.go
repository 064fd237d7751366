package train_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/corpus"
)

// tinyLMSpec is a language model small enough to train in seconds on a
// glob of Go files: one block, 32 wide, 32 bytes of context.
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

// TestLanguageModelLocalBeatsBigram trains a tiny language model in the
// local reference trainer and checks that its validation loss falls below
// the byte-bigram entropy of its training split: it learned more than
// which byte follows which.
func TestLanguageModelLocalBeatsBigram(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny language model for about a minute; runs in the full (non -short) pass")
	}
	spec := tinyLMSpec(t, 600)
	loader := &train.DataLoader{}
	data, err := loader.ForSpec(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	bigram := data.TrainBigramEntropy()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	job, hist, err := train.TrainLocal(ctx, spec, data, train.LocalOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) == 0 {
		t.Fatal("no evaluation recorded")
	}
	last := hist[len(hist)-1]
	t.Logf("bits per byte by step: %v; training split's bigram entropy %.3f; %.0f tokens/s", bpb(hist), bigram, last.TokensPerSecond)
	if !last.Full {
		t.Errorf("the last evaluation scored a sample, not the whole validation split")
	}
	if last.BitsPerByte >= bigram {
		t.Fatalf("validation %.3f bits per byte is not below the bigram entropy %.3f", last.BitsPerByte, bigram)
	}
	if st := job.Status(nil); st.Sample == nil || len(st.Sample.Text) == 0 {
		t.Errorf("no sample after training: %+v", st.Sample)
	}
}

func bpb(h []store.Point) []string {
	var out []string
	for _, p := range h {
		out = append(out, fmt.Sprintf("%d:%.3f", p.Step, p.BitsPerByte))
	}
	return out
}
