// Package infertest holds what inference tests share: a small language
// model trained for a few steps, so that its greedy choices are clear-cut
// rather than near ties and the text it writes is recognizable.
package infertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// Text is what Model is trained on.
var Text = strings.Repeat("func main() {\n\tfmt.Println(\"hello, world\")\n}\n", 20)

// Model returns a frozen 1-layer model (32 wide, 2 heads, context 32)
// trained for 80 steps on Text; the same weights on every call.
func Model(tb testing.TB) *lm.Model {
	tb.Helper()
	cfg := lm.Config{Layers: 1, Embd: 32, Heads: 2, Context: 32, TileCols: 16, AttnBatch: 4}
	opt := lm.OptConfig{LR: 1e-2, MinLR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WarmupSteps: 5, MaxSteps: 80, GradClip: 1}
	tr, err := lm.NewTrainer(cfg, opt, 4, 1)
	if err != nil {
		tb.Fatal(err)
	}
	exec := tile.NewLocal(0)
	for s := range 80 {
		var w []byte
		for b := range 4 {
			o := (s*4 + b) * 7 % (len(Text) - cfg.Context - 1)
			w = append(w, Text[o:o+cfg.Context+1]...)
		}
		if _, err := tr.Step(context.Background(), exec, w); err != nil {
			tb.Fatal(err)
		}
	}
	return tr.Model.Frozen()
}

// Greedy returns a greedy sampler.
func Greedy(tb testing.TB) *lm.Sampler {
	s, err := lm.NewSampler(0, 1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Source serves Model under Name (any name when Name is empty) at Step,
// its tiles computed by Exec: an infer.Source for tests.
type Source struct {
	Name  string
	Model *lm.Model
	Step  int
	Exec  tile.Executor
}

// Checkpoint implements infer.Source.
func (s Source) Checkpoint(_ context.Context, name string) (*lm.Model, int, tile.Executor, error) {
	if s.Name != "" && name != s.Name {
		return nil, 0, nil, fmt.Errorf("unknown model %q", name)
	}
	return s.Model, s.Step, s.Exec, nil
}
