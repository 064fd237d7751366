package train

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/corpus"
)

// TextData is a language model's corpus as its job reads it.
type TextData interface {
	// TrainWindows returns batch training windows of length+1 bytes,
	// concatenated, drawn as a pure function of (seed, step).
	TrainWindows(seed uint64, step, batch, length int) ([]byte, error)
	// ValidationWindows returns the validation windows of length bytes
	// starting stride bytes apart (corpus.Split.EvalWindows): all of them,
	// scoring every byte once, when max < 1, or max of them evenly spaced
	// over the split.
	ValidationWindows(length, stride, max int) (corpus.Eval, error)
	// AppendValidation appends window w's length+1 bytes (its inputs, then
	// its last target) to dst.
	AppendValidation(dst []byte, w corpus.Window) []byte
}

// lmModel is a GPT-2 language model as a Model: the lm.Trainer and its
// corpus.
type lmModel struct {
	*lm.Trainer
	spec Spec
	text TextData
}

// newLMModel builds the transformer of spec. With text nil the model
// holds weights only (for export and sampling).
func newLMModel(spec Spec, text TextData) (*lmModel, error) {
	tr, err := lm.NewTrainer(spec.lmConfig(), spec.lmOpt(), spec.BatchSize, spec.Seed)
	if err != nil {
		return nil, err
	}
	return &lmModel{Trainer: tr, spec: spec, text: text}, nil
}

func (m *lmModel) Step(ctx context.Context, exec tile.Executor) (float64, error) {
	if m.text == nil {
		return 0, errNoData
	}
	c := m.Config()
	w, err := m.text.TrainWindows(m.spec.Seed, m.StepsDone(), m.spec.BatchSize, c.Context)
	if err != nil {
		return 0, err
	}
	return m.Trainer.Step(ctx, exec, w)
}

// Evaluate scores EvalWindows validation windows (all of them if full),
// eval_stride bytes apart, four training batches at a time, and reports
// bits per byte.
func (m *lmModel) Evaluate(ctx context.Context, exec tile.Executor, full bool) (Eval, error) {
	if m.text == nil {
		return Eval{}, errNoData
	}
	c := m.Config()
	max := m.spec.EvalWindows
	if full {
		max = 0
	}
	plan, err := m.text.ValidationWindows(c.Context, m.spec.evalStride(), max)
	if err != nil {
		return Eval{}, err
	}
	n := plan.Len()
	// Forward passes keep no activations for a backward pass: four
	// training batches at a time make fewer, larger tiles. The windows are
	// read a batch at a time: with a small stride a whole split has many.
	eb := 4 * m.spec.BatchSize
	w := make([]byte, 0, eb*(c.Context+1))
	skip := make([]int, 0, eb)
	var nll float64
	var count int
	for s := 0; s < n; s += eb {
		w, skip = w[:0], skip[:0]
		for i := s; i < min(s+eb, n); i++ {
			win := plan.At(i)
			w = m.text.AppendValidation(w, win)
			skip = append(skip, win.Skip)
		}
		l, scored, err := m.Loss(ctx, exec, w, len(skip), c.Context, skip)
		if err != nil {
			return Eval{}, err
		}
		nll += l
		count += scored
	}
	if count != plan.Scored() {
		return Eval{}, fmt.Errorf("the evaluation scored %d bytes, not the %d of its windows", count, plan.Scored())
	}
	loss := nll / float64(count)
	return Eval{Loss: loss, BitsPerByte: loss / math.Ln2, Count: count, Full: full}, nil
}

func (m *lmModel) StepTokens() int { return m.spec.BatchSize * m.Config().Context }

// Sample is a short text the language model wrote from its weights at a
// step, shown on the dashboard.
type Sample struct {
	Step        int     `json:"step"`
	Prompt      string  `json:"prompt"`
	Text        string  `json:"text"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	Seed        uint64  `json:"seed"`
}

// Sample settings: long enough to show a few lines of code.
const (
	sampleBytes       = 240
	sampleTemperature = 0.8
	sampleTopP        = 0.95
)

// sample writes a Sample with the hub's own decoder (no contributor is
// involved: it is a view of the weights, not work to credit), seeded by
// the job's seed and the step so that it is reproducible.
func (m *lmModel) sample() Sample {
	seed := m.spec.Seed + uint64(m.StepsDone())
	s, _ := lm.NewSampler(sampleTemperature, sampleTopP, seed)
	prompt := []byte(m.spec.SamplePrompt)
	out := m.Generate(append([]byte{0}, prompt...), sampleBytes, s)
	return Sample{Step: m.StepsDone(), Prompt: m.spec.SamplePrompt, Text: string(out),
		Temperature: sampleTemperature, TopP: sampleTopP, Seed: seed}
}
