package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub/lm/lmtest"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// TestLanguageModelSlidingWindowEvaluation scores the whole validation
// split of a small trained model at several strides and checks each
// figure against an independent float64 GPT-2 that scores every byte
// itself: byte j (j ≥ 1) in the window at the smallest multiple of the
// stride that holds context bytes ending at or after it, the most context
// the windows offer, or in the window ending at the split's end when that
// one would run past it.
func TestLanguageModelSlidingWindowEvaluation(t *testing.T) {
	dir := t.TempDir()
	for i, text := range []string{
		"func add(a, b int) int { return a + b }\n",
		"func sub(a, b int) int { return a - b }\n",
		"// mul multiplies.\nfunc mul(a, b int) int { return a * b }\n",
		"func div(a, b int) int { return a / b }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.go", i)), []byte(strings.Repeat(text, 8)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spec := GoCodeLMSpec()
	spec.Model.NLayer, spec.Model.NEmbd, spec.Model.NHead, spec.Model.NPositions, spec.Model.AttnBatch = 1, 16, 2, 16, 8
	spec.Corpus = &CorpusSpec{Path: dir, ValidationPrefixes: []string{"f3.go"}}
	spec.BatchSize, spec.MaxSteps, spec.TileCols = 8, 150, 16
	spec.Optimizer.WarmupSteps, spec.Optimizer.LearningRate, spec.Optimizer.MinLR = 5, 1e-2, 1e-3
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := (&DataLoader{}).ForSpec(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	val := data.Text.(*textCorpus).c.Validation.Data
	m, err := newLMModel(spec, data.Text)
	if err != nil {
		t.Fatal(err)
	}
	exec := tile.NewLocal(1)
	for range spec.MaxSteps {
		if _, err := m.Step(context.Background(), exec); err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := m.Tensors()
	ctx := spec.Model.NPositions
	ref := lmtest.NewReference(ts, 1, 16, 2, ctx)
	n := len(val)
	var first float64
	for _, stride := range []int{ctx, ctx / 2, 3, 1} {
		m.spec.EvalStride = stride
		got, err := m.Evaluate(context.Background(), exec, true)
		if err != nil {
			t.Fatal(err)
		}
		logits := map[int][][]float64{}
		var nll float64
		for j := 1; j < n; j++ {
			o := 0
			if j > ctx {
				o = (j - ctx + stride - 1) / stride * stride
			}
			if o+ctx > n-1 {
				o = n - 1 - ctx
			}
			lg, ok := logits[o]
			if !ok {
				lg = ref.Logits(val[o : o+ctx])
				logits[o] = lg
			}
			nll += nllOf(lg[j-1-o], val[j])
		}
		want := nll / float64(n-1) / math.Ln2
		if got.Count != n-1 || math.Abs(got.BitsPerByte-want) > 1e-4*want {
			t.Errorf("stride %d: %.6f bits per byte over %d bytes, the independent model's %.6f over %d",
				stride, got.BitsPerByte, got.Count, want, n-1)
		}
		if stride < ctx && got.BitsPerByte == first {
			t.Errorf("stride %d: %.6f bits per byte, exactly the figure of windows that do not overlap", stride, got.BitsPerByte)
		}
		if stride == ctx {
			first = got.BitsPerByte
		}
		t.Logf("stride %d: %.4f bits per byte", stride, got.BitsPerByte)
	}
}

// nllOf returns −log softmax(row)[target] in nats.
func nllOf(row []float64, target byte) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, v)
	}
	var z float64
	for _, v := range row {
		z += math.Exp(v - mx)
	}
	return mx + math.Log(z) - row[target]
}
