package train

import (
	"context"
	"time"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// Model is a trainable model as a Job drives it: the MNIST MLP (mlpModel)
// and the GPT-2 language model (lmModel). Each draws its own training
// batch as a pure function of (seed, step), so a step re-run after a
// restart sees the data it saw before.
type Model interface {
	// Step runs training step StepsDone() with exec and returns its loss.
	Step(ctx context.Context, exec tile.Executor) (float64, error)
	// StepsDone returns the number of optimizer steps applied.
	StepsDone() int
	// Evaluate measures the current weights on held-out data with exec:
	// a bounded sample unless full is set (the whole split).
	Evaluate(ctx context.Context, exec tile.Executor, full bool) (Eval, error)
	// SaveCheckpoint and LoadCheckpoint write and read the weights and
	// optimizer state (package ckpt).
	SaveCheckpoint(path string) error
	LoadCheckpoint(path string) error
	// TileFractions returns, per weight tile, its share of the model's
	// weights (the exposure unit).
	TileFractions() []float64
	// StepTokens is the number of examples (MNIST) or tokens (LM) one
	// step trains on, for throughput figures.
	StepTokens() int
	// Tensors returns the current weights under their export names, in a
	// fixed order, and the safetensors metadata.
	Tensors() ([]safetensors.Tensor, map[string]string)
	// SetStepTimer makes every completed step report its duration.
	SetStepTimer(func(time.Duration))
}

// Eval is one evaluation of a model on held-out data.
type Eval struct {
	// Loss is the mean cross-entropy in nats per example (MNIST) or per
	// byte (LM).
	Loss float64
	// Accuracy is the classification accuracy (MNIST only).
	Accuracy float64
	// BitsPerByte is Loss/ln 2 for byte-level language models.
	BitsPerByte float64
	// Count is the number of examples or bytes scored.
	Count int
	// Full is set when the whole held-out split was scored.
	Full bool
}
