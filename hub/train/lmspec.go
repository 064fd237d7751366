package train

import (
	"github.com/tessera-ai/tessera/hub/lm"
)

// GoCodeLMSpec is the default language-model job, gocode-lm: a GPT-2
// transformer over bytes trained on Go's own source tree, which every
// machine that builds Tessera has (RATIONALE.md explains the size).
func GoCodeLMSpec() Spec {
	return Spec{
		Name: "gocode-lm",
		// 2 layers of 128 over 64-byte windows, 16 a step: the lowest
		// validation bits per byte of the shapes and batches measured at
		// a fixed budget (RATIONALE.md, "The default language model's
		// size").
		Model:   ModelSpec{Type: "gpt2", NLayer: 2, NEmbd: 128, NHead: 4, NPositions: 64, AttnBatch: 16},
		Dataset: "text",
		Corpus:  &CorpusSpec{},
		Optimizer: OptimizerSpec{Type: "adamw", LearningRate: 3e-3, MinLR: 3e-4, Beta1: 0.9, Beta2: 0.95, Epsilon: 1e-8,
			WeightDecay: 0.1, WarmupSteps: 30, GradClip: 1},
		BatchSize: 16,
		// 6.1 million training bytes, as 3,000 steps of 32 windows were.
		MaxSteps:  6000,
		EvalEvery: 100,
		// Evaluation windows start 48 bytes apart (eval_stride 0: three
		// quarters of the context), each scoring its last 48 bytes: 96
		// windows score 4,608 bytes.
		EvalWindows:     96,
		SamplePrompt:    "func (",
		CheckpointEvery: 50,
		TileCols:        64,
		ExposureCap:     0.3,
		Seed:            1,
		// Measured: 4.2675 against 4.2683 bits per byte at step 100 with
		// float32 operands, at 72% of the bytes (issue #12's notes).
		WireDType: "bfloat16",
	}
}

// DefaultSpec returns the default job of the given name: "mnist-mlp"
// (MNISTSpec) or "gocode-lm" (GoCodeLMSpec).
func DefaultSpec(name string) (Spec, bool) {
	switch name {
	case "mnist-mlp":
		return MNISTSpec(), true
	case "gocode-lm":
		return GoCodeLMSpec(), true
	}
	return Spec{}, false
}

// DefaultSpecNames lists the default jobs' names.
func DefaultSpecNames() []string { return []string{"mnist-mlp", "gocode-lm"} }

// lmConfig returns the transformer's shape and tiling of a gpt2 spec.
func (s *Spec) lmConfig() lm.Config {
	return lm.Config{Layers: s.Model.NLayer, Embd: s.Model.NEmbd, Heads: s.Model.NHead, Context: s.Model.NPositions,
		TileCols: s.TileCols, AttnBatch: s.Model.AttnBatch}
}

// evalStride returns how far apart a gpt2 spec's evaluation windows
// start.
func (s *Spec) evalStride() int {
	if s.EvalStride == 0 {
		return max(3*s.Model.NPositions/4, 1)
	}
	return s.EvalStride
}

// lmOpt returns the AdamW settings of a gpt2 spec.
func (s *Spec) lmOpt() lm.OptConfig {
	o := s.Optimizer
	return lm.OptConfig{LR: o.LearningRate, MinLR: o.MinLR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Epsilon,
		WeightDecay: o.WeightDecay, WarmupSteps: o.WarmupSteps, MaxSteps: s.MaxSteps, GradClip: o.GradClip}
}

// maxEvalWindows bounds a periodic evaluation's sample.
const maxEvalWindows = 4096

// validateLM checks the fields of a gpt2 model on text.
func (s *Spec) validateLM(bad func(string, ...any)) {
	if len(s.Model.Layers) > 0 {
		bad("model.layers is for an mlp; a gpt2 model has n_layer, n_embd, n_head, n_positions")
	}
	if s.ResidentWeights {
		bad("resident_weights is for an mlp (a gpt2 model trains with adamw)")
	}
	if err := s.lmConfig().Validate(s.BatchSize); err != nil {
		bad("model: %v", err)
	}
	if s.Optimizer.Type != "adamw" {
		bad("a gpt2 model trains with optimizer.type \"adamw\", not %q", s.Optimizer.Type)
	} else if err := s.lmOpt().Validate(); err != nil {
		bad("%v", err)
	}
	if s.Dataset != "text" {
		bad("a gpt2 model trains on dataset \"text\", not %q", s.Dataset)
	}
	if s.Corpus == nil {
		bad("dataset \"text\" needs a corpus (an empty one means Go's source tree)")
	} else {
		if len(s.Corpus.Path) > 4096 {
			bad("corpus.path is longer than 4096 bytes")
		}
		if len(s.Corpus.ValidationPrefixes) > 64 {
			bad("corpus.validation_prefixes lists more than 64 prefixes")
		}
		if p := s.Corpus.ValidationPercent; p < 0 || p > 50 {
			bad("corpus.validation_percent must be between 0 and 50")
		}
	}
	if s.EvalWindows < 1 || s.EvalWindows > maxEvalWindows {
		bad("eval_windows must be between 1 and %d", maxEvalWindows)
	}
	if s.EvalStride < 0 || s.EvalStride > s.Model.NPositions {
		bad("eval_stride must be between 1 and n_positions (%d), or 0 for three quarters of it", s.Model.NPositions)
	}
	if len(s.SamplePrompt) > 1024 {
		bad("sample_prompt is longer than 1024 bytes")
	}
	if s.TargetAccuracy != 0 {
		bad("target_accuracy is for classifiers; a language model has target_bits_per_byte")
	}
}
