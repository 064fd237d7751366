// Package train runs training jobs on the hub: a model, a data set, an
// optimizer and a target, trained step by step with every matmul cut into
// tiles that an Executor computes, either contributors through the hub's
// task queue (Remote) or in-process (Local, the reference trainer).
//
// Entry points: Spec (a job's JSON specification) and its Validate;
// NewTrainer builds the math for a spec; (*Trainer).Step runs one step.
// Job (job.go) wraps a Trainer with checkpoints, evaluation and history.
package train

import (
	"errors"
	"fmt"
	"strings"
)

// Spec is a training job's specification, as an operator writes it in a
// JSON file.
type Spec struct {
	// Name is a human label; the job's stable ID is assigned by the hub.
	Name string `json:"name"`
	// Model is the architecture.
	Model ModelSpec `json:"model"`
	// Dataset names the data; only "mnist" exists so far.
	Dataset string `json:"dataset"`
	// Optimizer and its hyperparameters.
	Optimizer OptimizerSpec `json:"optimizer"`
	// BatchSize is the number of examples per step.
	BatchSize int `json:"batch_size"`
	// MaxSteps stops the job after this many steps.
	MaxSteps int `json:"max_steps"`
	// TargetAccuracy stops the job once test accuracy reaches it (0..1;
	// 0 means train for MaxSteps).
	TargetAccuracy float64 `json:"target_accuracy"`
	// EvalEvery is the number of steps between test-set evaluations.
	EvalEvery int `json:"eval_every"`
	// CheckpointEvery is the number of steps between checkpoints.
	CheckpointEvery int `json:"checkpoint_every"`
	// TileCols is the width of a weight tile: each layer's weight matrix
	// is cut into column blocks this wide, the unit of work and of exposure.
	TileCols int `json:"tile_cols"`
	// ExposureCap is the largest fraction of the model's weights any one
	// contributor may ever receive (0 < cap ≤ 1).
	ExposureCap float64 `json:"exposure_cap"`
	// Seed makes initialization and data order reproducible.
	Seed uint64 `json:"seed"`
}

// ModelSpec describes the model.
type ModelSpec struct {
	// Type is "mlp": fully connected layers with ReLU between them.
	Type string `json:"type"`
	// Layers are the layer widths, input first, classes last,
	// e.g. [784, 256, 256, 10].
	Layers []int `json:"layers"`
}

// OptimizerSpec describes the optimizer.
type OptimizerSpec struct {
	// Type is "adam" or "sgd" (with momentum).
	Type         string  `json:"type"`
	LearningRate float64 `json:"lr"`
	Beta1        float64 `json:"beta1,omitempty"`
	Beta2        float64 `json:"beta2,omitempty"`
	Epsilon      float64 `json:"eps,omitempty"`
	Momentum     float64 `json:"momentum,omitempty"`
}

// MNISTSpec is the default job `make run` creates: a 784-256-256-10 MLP
// trained with Adam to 97% test accuracy. It is the smallest MLP that
// exercises all three matmul kernels on real-sized tiles, including a
// hidden-to-hidden weight matrix whose input gradient is sent out, and it
// passes 97% within two epochs, minutes on two CPU cores.
func MNISTSpec() Spec {
	return Spec{
		Name:            "mnist-mlp",
		Model:           ModelSpec{Type: "mlp", Layers: []int{784, 256, 256, 10}},
		Dataset:         "mnist",
		Optimizer:       OptimizerSpec{Type: "adam", LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8},
		BatchSize:       128,
		MaxSteps:        3000,
		TargetAccuracy:  0.97,
		EvalEvery:       100,
		CheckpointEvery: 50,
		TileCols:        32,
		ExposureCap:     0.3,
		Seed:            1,
	}
}

// Limits on specs, so that a bad or hostile spec cannot exhaust the hub.
const (
	maxLayers    = 16
	maxWidth     = 8192
	maxBatch     = 4096
	maxSteps     = 10_000_000
	maxNameBytes = 128
	// maxParams bounds the weights: with gradients and Adam's two moments
	// the hub holds four copies, 256 MiB at this bound.
	maxParams = 16 << 20
	// maxActivations bounds batch size × the sum of the layer widths: the
	// activations and their gradients one step keeps, 256 MiB at this bound.
	maxActivations = 32 << 20
)

// Validate reports every problem with the spec at once.
func (s *Spec) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if s.Name == "" || len(s.Name) > maxNameBytes {
		bad("name must be 1 to %d bytes", maxNameBytes)
	}
	if s.Model.Type != "mlp" {
		bad("model.type %q is not supported (want \"mlp\")", s.Model.Type)
	}
	if n := len(s.Model.Layers); n < 2 || n > maxLayers {
		bad("model.layers must list 2 to %d widths, got %d", maxLayers, n)
	}
	widths, params := 0, 0
	for i, w := range s.Model.Layers {
		if w < 1 || w > maxWidth {
			bad("model.layers[%d] = %d must be between 1 and %d", i, w, maxWidth)
			continue
		}
		widths += w
		if i > 0 && s.Model.Layers[i-1] >= 1 && s.Model.Layers[i-1] <= maxWidth {
			params += (s.Model.Layers[i-1] + 1) * w // weights and biases
		}
	}
	if params > maxParams {
		bad("the model has %d parameters, more than the hub's limit of %d", params, maxParams)
	}
	if s.BatchSize >= 1 && s.BatchSize <= maxBatch && s.BatchSize*widths > maxActivations {
		bad("batch_size × the sum of the layer widths is %d, more than the hub's limit of %d", s.BatchSize*widths, maxActivations)
	}
	if s.Dataset != "mnist" {
		bad("dataset %q is not supported (want \"mnist\")", s.Dataset)
	} else if len(s.Model.Layers) >= 2 {
		if in := s.Model.Layers[0]; in != 784 {
			bad("mnist has 784 inputs, model.layers[0] is %d", in)
		}
		if out := s.Model.Layers[len(s.Model.Layers)-1]; out != 10 {
			bad("mnist has 10 classes, the last layer is %d wide", out)
		}
	}
	switch o := s.Optimizer; o.Type {
	case "adam":
		if !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Epsilon > 0) {
			bad("adam needs 0 ≤ beta1, beta2 < 1 and eps > 0")
		}
	case "sgd":
		if !(o.Momentum >= 0 && o.Momentum < 1) {
			bad("sgd momentum must be in [0, 1)")
		}
	default:
		bad("optimizer.type %q is not supported (want \"adam\" or \"sgd\")", o.Type)
	}
	if !(s.Optimizer.LearningRate > 0 && s.Optimizer.LearningRate < 10) {
		bad("optimizer.lr must be in (0, 10)")
	}
	if s.BatchSize < 1 || s.BatchSize > maxBatch {
		bad("batch_size must be between 1 and %d", maxBatch)
	}
	if s.MaxSteps < 1 || s.MaxSteps > maxSteps {
		bad("max_steps must be between 1 and %d", maxSteps)
	}
	if !(s.TargetAccuracy >= 0 && s.TargetAccuracy <= 1) {
		bad("target_accuracy must be in [0, 1]")
	}
	if s.EvalEvery < 1 || s.CheckpointEvery < 1 {
		bad("eval_every and checkpoint_every must be at least 1")
	}
	if s.TileCols < 1 || s.TileCols > maxWidth {
		bad("tile_cols must be between 1 and %d", maxWidth)
	}
	if !(s.ExposureCap > 0 && s.ExposureCap <= 1) {
		bad("exposure_cap must be in (0, 1]")
	}
	if len(errs) > 0 {
		return errors.New("invalid job spec: " + strings.Join(errs, "; "))
	}
	return nil
}
