package train

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// mlpModel is the MNIST MLP as a Model: a Trainer, the batches of its
// training set and its test set.
type mlpModel struct {
	*Trainer
	batches *batcher
	data    *Data
	spec    Spec
}

// newMLPModel builds the MLP of spec. With data nil the model holds
// weights only (for export) and refuses to step or evaluate.
func newMLPModel(spec Spec, data *Data) (*mlpModel, error) {
	tr, err := NewTrainer(spec)
	if err != nil {
		return nil, err
	}
	m := &mlpModel{Trainer: tr, data: data, spec: spec}
	if data != nil {
		if data.Train == nil || data.Test == nil {
			return nil, fmt.Errorf("mlp job %q needs the mnist data set", spec.Name)
		}
		if m.batches, err = newBatcher(data.Train, spec.BatchSize, spec.Seed); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var errNoData = fmt.Errorf("model was built without its data set")

func (m *mlpModel) Step(ctx context.Context, exec tile.Executor) (float64, error) {
	if m.batches == nil {
		return 0, errNoData
	}
	x, y := m.batches.batch(m.StepsDone())
	return m.Trainer.Step(ctx, exec, x, y)
}

// Evaluate scores the whole test set (10,000 images; cheap enough to do
// every time, so full changes nothing).
func (m *mlpModel) Evaluate(ctx context.Context, exec tile.Executor, full bool) (Eval, error) {
	if m.data == nil {
		return Eval{}, errNoData
	}
	loss, acc, err := m.Trainer.Evaluate(ctx, exec, m.data.Test.Images, m.data.Test.Labels, 1000)
	if err != nil {
		return Eval{}, err
	}
	return Eval{Loss: loss, Accuracy: acc, Count: len(m.data.Test.Labels), Full: true}, nil
}

func (m *mlpModel) StepTokens() int { return m.spec.BatchSize }

func (m *mlpModel) SetStepTimer(f func(time.Duration)) { m.stepTime = f }

// Tensors exports layer l's weights as "layers.l.weight" (in×out,
// row-major: y = x·W + b) and its biases as "layers.l.bias" (out).
func (m *mlpModel) Tensors() ([]safetensors.Tensor, map[string]string) {
	var out []safetensors.Tensor
	for l, ly := range m.m.layers {
		w := gatherBlock(m.params, &ly, block{tiles: ly.tiles})
		name := "layers." + strconv.Itoa(l)
		out = append(out,
			safetensors.Tensor{Name: name + ".weight", Shape: []int{ly.in, ly.out}, Data: w},
			safetensors.Tensor{Name: name + ".bias", Shape: []int{ly.out}, Data: append([]float32(nil), m.params[ly.bias:ly.bias+ly.out]...)})
	}
	meta := map[string]string{"format": "pt", "tessera.model": "mlp", "tessera.activation": "relu",
		"tessera.step": strconv.Itoa(m.StepsDone())}
	return out, meta
}
