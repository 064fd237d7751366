// Package lm is Tessera's language model: a decoder-only transformer with
// the GPT-2 architecture exactly (token and learned position embeddings,
// pre-LayerNorm blocks, causal multi-head self-attention, GELU with the
// tanh approximation, a final LayerNorm, and an LM head tied to the token
// embedding) over a byte-level vocabulary of 256, so no tokenizer files
// are needed.
//
// Every matmul of a training step is a tile.Tile computed by an Executor
// (contributors through the hub, or this process): the linear layers are
// cut into column tiles of their weights, the LM head into row blocks of
// the token embedding, and the attention products (QKᵀ, P·V and their
// gradients) into batched tiles over (sequence, head) pairs. LayerNorm,
// softmax, GELU, residuals, the loss and the optimizer (AdamW with
// warmup, cosine decay and gradient clipping) stay on the hub.
//
// Weights are stored in Hugging Face's GPT-2 layout (Conv1D weights as
// (in, out)), so Tensors exports them under GPT-2's names for a
// safetensors file, and HFConfig gives the matching config.json.
//
// Entry points: Config (and DefaultConfig), NewTrainer, (*Trainer).Step,
// (*Trainer).Loss, (*Model).Generate, (*Model).Tensors.
package lm
