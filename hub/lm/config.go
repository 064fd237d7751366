package lm

import (
	"errors"
	"fmt"
	"strings"
)

// Vocab is the vocabulary size: one token per byte value.
const Vocab = 256

// LayerNormEps is GPT-2's LayerNorm epsilon.
const LayerNormEps = 1e-5

// Config is a transformer's shape and how its work is cut into tiles.
type Config struct {
	// Layers is the number of transformer blocks (GPT-2's n_layer).
	Layers int
	// Embd is the model width (n_embd, d_model).
	Embd int
	// Heads is the number of attention heads (n_head); it divides Embd.
	Heads int
	// Context is the longest sequence (n_positions).
	Context int
	// TileCols is the width of a weight tile: linear layers' weights are
	// cut into blocks of this many output columns and the token embedding
	// (the LM head) into blocks of this many rows. It is the unit of work
	// and of exposure.
	TileCols int
	// AttnBatch is the number of (sequence, head) products in one
	// attention tile.
	AttnBatch int
}

// Limits on configurations, so that a hostile spec cannot exhaust the
// hub: parameters with gradients and AdamW's two moments are 16 bytes
// each, activations kept for the backward pass 4 bytes each.
const (
	MaxLayers  = 48
	MaxEmbd    = 2048
	MaxHeads   = 64
	MaxContext = 2048
	MaxBatch   = 512
	// MaxParams bounds the weights: 256 MiB with gradients and moments.
	MaxParams = 16 << 20
	// MaxActivations bounds the floats one step keeps: 512 MiB.
	MaxActivations = 128 << 20
)

// Validate reports every problem with the configuration for training with
// batch sequences per step.
func (c Config) Validate(batch int) error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Layers < 1 || c.Layers > MaxLayers {
		bad("n_layer must be between 1 and %d", MaxLayers)
	}
	if c.Embd < 1 || c.Embd > MaxEmbd {
		bad("n_embd must be between 1 and %d", MaxEmbd)
	}
	if c.Heads < 1 || c.Heads > MaxHeads {
		bad("n_head must be between 1 and %d", MaxHeads)
	} else if c.Embd >= 1 && c.Embd%c.Heads != 0 {
		bad("n_embd (%d) must be a multiple of n_head (%d)", c.Embd, c.Heads)
	}
	if c.Context < 2 || c.Context > MaxContext {
		bad("n_positions must be between 2 and %d", MaxContext)
	}
	if c.TileCols < 1 || c.TileCols > 4*MaxEmbd {
		bad("tile_cols must be between 1 and %d", 4*MaxEmbd)
	}
	if c.AttnBatch < 1 || c.AttnBatch > 4096 {
		bad("attn_batch must be between 1 and 4096")
	}
	if batch < 1 || batch > MaxBatch {
		bad("batch_size must be between 1 and %d", MaxBatch)
	}
	if len(errs) == 0 {
		if p := c.Params(); p > MaxParams {
			bad("the model has %d parameters, more than the hub's limit of %d", p, MaxParams)
		}
		if a := c.Activations(batch); a > MaxActivations {
			bad("one step would keep %d activations (batch_size × n_positions × width × layers), more than the hub's limit of %d", a, MaxActivations)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Params returns the number of parameters (the LM head is tied to the
// token embedding and adds none).
func (c Config) Params() int {
	d := c.Embd
	perBlock := 2*d + (d*3*d + 3*d) + (d*d + d) + 2*d + (d*4*d + 4*d) + (4*d*d + d)
	return Vocab*d + c.Context*d + c.Layers*perBlock + 2*d
}

// Activations estimates the floats one training step keeps for the
// backward pass with batch sequences of full context.
func (c Config) Activations(batch int) int {
	m := batch * c.Context
	perBlock := m*c.Embd*20 + 2*batch*c.Heads*c.Context*c.Context
	return c.Layers*perBlock + 3*m*Vocab
}

// headDim is the width of one attention head.
func (c Config) headDim() int { return c.Embd / c.Heads }

// HFConfig returns the Hugging Face GPT-2 config.json for this model, so
// that transformers' GPT2LMHeadModel loads the exported weights unchanged.
// Dropout is 0: Tessera trains without it.
func (c Config) HFConfig() map[string]any {
	return map[string]any{
		"architectures":                   []string{"GPT2LMHeadModel"},
		"model_type":                      "gpt2",
		"vocab_size":                      Vocab,
		"n_positions":                     c.Context,
		"n_ctx":                           c.Context,
		"n_embd":                          c.Embd,
		"n_layer":                         c.Layers,
		"n_head":                          c.Heads,
		"n_inner":                         nil,
		"activation_function":             "gelu_new",
		"layer_norm_epsilon":              LayerNormEps,
		"initializer_range":               0.02,
		"resid_pdrop":                     0.0,
		"embd_pdrop":                      0.0,
		"attn_pdrop":                      0.0,
		"scale_attn_weights":              true,
		"scale_attn_by_inverse_layer_idx": false,
		"reorder_and_upcast_attn":         false,
		"tie_word_embeddings":             true,
		"use_cache":                       true,
		"bos_token_id":                    0,
		"eos_token_id":                    0,
		"torch_dtype":                     "float32",
	}
}
