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

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Spec is a training job's specification, as an operator writes it in a
// JSON file.
type Spec struct {
	// Name is a human label; the job's stable ID is assigned by the hub.
	Name string `json:"name"`
	// Model is the architecture.
	Model ModelSpec `json:"model"`
	// Dataset names the data: "mnist" (for an mlp) or "text" (for a gpt2
	// model, with Corpus).
	Dataset string `json:"dataset"`
	// Corpus is the text data set's source (dataset "text").
	Corpus *CorpusSpec `json:"corpus,omitempty"`
	// Optimizer and its hyperparameters.
	Optimizer OptimizerSpec `json:"optimizer"`
	// BatchSize is the number of examples per step.
	BatchSize int `json:"batch_size"`
	// MaxSteps stops the job after this many steps.
	MaxSteps int `json:"max_steps"`
	// TargetAccuracy stops the job once test accuracy reaches it (0..1;
	// 0 means train for MaxSteps).
	TargetAccuracy float64 `json:"target_accuracy"`
	// TargetBitsPerByte stops a language model once its validation loss
	// is at most this many bits per byte (0: train for MaxSteps).
	TargetBitsPerByte float64 `json:"target_bits_per_byte,omitempty"`
	// EvalEvery is the number of steps between evaluations.
	EvalEvery int `json:"eval_every"`
	// EvalWindows bounds a language model's periodic evaluation to this
	// many validation windows, evenly spaced over the split, so that
	// evaluating never stalls training; the last evaluation scores the
	// whole split.
	EvalWindows int `json:"eval_windows,omitempty"`
	// EvalStride is how many bytes apart a language model's evaluation
	// windows start: 1 to n_positions, or 0 for three quarters of
	// n_positions. A window scores only its last eval_stride targets (the
	// split's first window all of its own), so every validation byte is
	// scored once, and every one after the first window with at least
	// n_positions − eval_stride bytes before it in its window: the
	// sliding-window evaluation of a fixed-context model. The whole split costs n_positions/eval_stride times the
	// forward passes of windows that do not overlap (eval_stride =
	// n_positions).
	EvalStride int `json:"eval_stride,omitempty"`
	// SamplePrompt starts the text a language model writes after each
	// evaluation, shown on the dashboard ("" starts a new document).
	SamplePrompt string `json:"sample_prompt"`
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
	// ResidentWeights has the operator's own workers keep the weights
	// between steps, each layer whole, and apply the optimizer to them
	// themselves, the hub checking every product with them against
	// sketches it follows (an mlp with optimizer "sgd" only; RATIONALE.md,
	// "Resident weights"). Neither the weights go down nor their gradients
	// up each step. Trusted contributors (own workers) keep weights, one
	// with room in its operand cache for all of them, and with
	// OrdinaryKeepers ordinary ones too; while none that takes the job's
	// tasks is connected, the job trains the ordinary way, over column
	// tiles contributors take within the cap (with OrdinaryKeepers, only
	// those whose weights they have received: see there).
	ResidentWeights bool `json:"resident_weights"`
	// OrdinaryKeepers (with ResidentWeights) lets ordinary contributors
	// keep the weights while no own worker is connected: each layer is
	// cut into blocks of its tiles, each placed at a contributor whose
	// record lets it keep weights (hub.VerificationConfig.KeepAfter),
	// within the exposure cap given what each has already received
	// (placement.go). A keeper that leaves or is struck costs only its
	// blocks, which the hub rebuilds and places again (recovery.go).
	//
	// Ordinary contributors then receive weights only as blocks placed
	// at them (Remote.SetKeptOnly): until enough may keep to hold every
	// tile under the cap, they compute the weight gradients and the hub
	// the products that carry weights.
	OrdinaryKeepers bool `json:"ordinary_keepers,omitempty"`
	// WireDType is how tile operands travel to contributors: "float32"
	// (the default when empty) or "bfloat16", half the bytes. With
	// bfloat16 the hub rounds every operand before sending and verifies
	// against the rounded values, so checks stay exact; results come back
	// in float32 either way.
	WireDType string `json:"wire_dtype,omitempty"`
}

// wire returns the protocol encoding of s.WireDType.
func (s *Spec) wire() protocol.Encoding {
	if s.WireDType == protocol.BFloat16.String() {
		return protocol.BFloat16
	}
	return protocol.Float32
}

// ModelSpec describes the model.
type ModelSpec struct {
	// Type is "mlp" (fully connected layers with ReLU between them) or
	// "gpt2" (a GPT-2 decoder-only transformer over bytes, package lm).
	Type string `json:"type"`
	// Layers are an mlp's layer widths, input first, classes last,
	// e.g. [784, 256, 256, 10].
	Layers []int `json:"layers,omitempty"`
	// A gpt2 model's shape, named as in Hugging Face's GPT2Config:
	// blocks, width (d_model), attention heads, and context length.
	NLayer     int `json:"n_layer,omitempty"`
	NEmbd      int `json:"n_embd,omitempty"`
	NHead      int `json:"n_head,omitempty"`
	NPositions int `json:"n_positions,omitempty"`
	// AttnBatch is the number of (sequence, head) products in one
	// attention tile of a gpt2 model.
	AttnBatch int `json:"attn_batch,omitempty"`
}

// CorpusSpec is a text data set: a directory, glob, UTF-8 file or JSON
// Lines file (records with a "text" field), split into training and
// validation by file (by record for JSON Lines).
type CorpusSpec struct {
	// Path is the corpus; "" means Go's own source tree,
	// $(go env GOROOT)/src, non-test .go files.
	Path string `json:"path,omitempty"`
	// ValidationPrefixes puts files whose path relative to the corpus
	// root starts with one of these in the validation split ("" corpus:
	// net/ and encoding/).
	ValidationPrefixes []string `json:"validation_prefixes,omitempty"`
	// ValidationPercent puts this share of the other files (by a stable
	// hash of their relative path) in the validation split.
	ValidationPercent int `json:"validation_percent,omitempty"`
}

// OptimizerSpec describes the optimizer.
type OptimizerSpec struct {
	// Type is "adam" or "sgd" (with momentum) for an mlp, "adamw" for a
	// gpt2 model.
	Type         string  `json:"type"`
	LearningRate float64 `json:"lr"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Epsilon      float64 `json:"eps,omitempty"`
	Momentum     float64 `json:"momentum"`
	// AdamW: decoupled weight decay (matrices and embeddings only), the
	// learning rate at the end of the cosine schedule, linear warmup
	// steps, and the bound on the global gradient norm (0: no clipping).
	WeightDecay float64 `json:"weight_decay"`
	MinLR       float64 `json:"min_lr"`
	WarmupSteps int     `json:"warmup_steps"`
	GradClip    float64 `json:"grad_clip"`
}

// MNISTSpec is the default job `make run` creates: a 784-256-256-10 MLP
// trained to 97% test accuracy. It is the smallest MLP that exercises all
// three matmul kernels on real-sized tiles, including a hidden-to-hidden
// weight matrix whose input gradient is sent out, and it passes 97% within
// two epochs, minutes on two CPU cores.
//
// Its weights are resident (Spec.ResidentWeights) while an own worker is
// connected, as in `make run`, and it trains with SGD with momentum, the
// linear update that residence needs. Without an own worker, ordinary
// contributors train it over 32-column tiles. Measured (RATIONALE.md,
// "Resident weights"): 97% test accuracy at step 600 (with Adam, the
// default before: 800); through one own worker 6.8 MB per useful GFLOP on
// its socket, against 22.7 with the hub holding the weights.
func MNISTSpec() Spec {
	return Spec{
		Name:            "mnist-mlp",
		Model:           ModelSpec{Type: "mlp", Layers: []int{784, 256, 256, 10}},
		Dataset:         "mnist",
		Optimizer:       OptimizerSpec{Type: "sgd", LearningRate: 0.1, Momentum: 0.9},
		ResidentWeights: true,
		BatchSize:       128,
		MaxSteps:        3000,
		TargetAccuracy:  0.97,
		EvalEvery:       100,
		CheckpointEvery: 50,
		TileCols:        32,
		ExposureCap:     0.3,
		Seed:            1,
		// Measured with Adam: 97% test accuracy at step 800 with bfloat16
		// operands as with float32 (issue #12's notes).
		WireDType: "bfloat16",
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
	switch s.Model.Type {
	case "mlp":
		s.validateMLP(bad)
	case "gpt2":
		s.validateLM(bad)
	default:
		bad("model.type %q is not supported (want \"mlp\" or \"gpt2\")", s.Model.Type)
	}
	if s.MaxSteps < 1 || s.MaxSteps > maxSteps {
		bad("max_steps must be between 1 and %d", maxSteps)
	}
	if !(s.TargetAccuracy >= 0 && s.TargetAccuracy <= 1) {
		bad("target_accuracy must be in [0, 1]")
	}
	if !(s.TargetBitsPerByte >= 0 && s.TargetBitsPerByte <= 8) {
		bad("target_bits_per_byte must be in [0, 8]")
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
	switch s.WireDType {
	case "", protocol.Float32.String(), protocol.BFloat16.String():
	default:
		bad("wire_dtype %q must be %q or %q", s.WireDType, protocol.Float32, protocol.BFloat16)
	}
	if len(errs) > 0 {
		return errors.New("invalid job spec: " + strings.Join(errs, "; "))
	}
	return nil
}

// validateMLP checks the fields of an mlp on mnist.
func (s *Spec) validateMLP(bad func(string, ...any)) {
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
		bad("an mlp trains on dataset \"mnist\", not %q", s.Dataset)
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
	if s.OrdinaryKeepers && !s.ResidentWeights {
		bad("ordinary_keepers needs resident_weights")
	}
	if s.ResidentWeights && s.Optimizer.Type != "sgd" {
		bad("resident_weights needs optimizer.type \"sgd\": the hub follows the weights only through a linear update")
	}
	if !(s.Optimizer.LearningRate > 0 && s.Optimizer.LearningRate < 10) {
		bad("optimizer.lr must be in (0, 10)")
	}
	if s.BatchSize < 1 || s.BatchSize > maxBatch {
		bad("batch_size must be between 1 and %d", maxBatch)
	}
	if s.Corpus != nil {
		bad("corpus is for dataset \"text\"")
	}
}
