package lm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tessera-ai/tessera/hub/train/ckpt"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// Model is a transformer's weights, laid out as GPT-2's state dict in one
// flat vector.
type Model struct {
	cfg    Config
	l      *layout
	params []float32
	// frozen, set by Frozen, caches the tile weights of a model whose
	// weights never change.
	frozen *frozenTiles
}

// NewModel returns a model of cfg initialized from seed as GPT-2 is.
func NewModel(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(1); err != nil {
		return nil, fmt.Errorf("invalid model: %w", err)
	}
	m := &Model{cfg: cfg, l: newLayout(cfg)}
	m.params = make([]float32, m.l.n)
	m.l.init(m.params, seed)
	return m, nil
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// NumParams returns the number of parameters.
func (m *Model) NumParams() int { return m.l.n }

// TileFractions returns, per weight tile, its share of all parameters
// (embeddings, biases and LayerNorm gains included in the whole).
func (m *Model) TileFractions() []float64 { return m.l.tileFractions() }

// checkWindows validates n windows of length+1 tokens in w.
func (m *Model) checkWindows(w []byte, n, length int) error {
	if n < 1 || length < 1 || length > m.cfg.Context {
		return fmt.Errorf("lm: %d windows of %d tokens (context is %d)", n, length, m.cfg.Context)
	}
	if len(w) != n*(length+1) {
		return fmt.Errorf("lm: %d bytes for %d windows of %d+1 tokens", len(w), n, length)
	}
	return nil
}

// inputs splits n windows of length+1 bytes into inputs and next-byte
// targets, each n×length.
func inputs(w []byte, n, length int) (x, y []byte) {
	x = make([]byte, n*length)
	y = make([]byte, n*length)
	for s := range n {
		win := w[s*(length+1) : (s+1)*(length+1)]
		copy(x[s*length:], win[:length])
		copy(y[s*length:], win[1:])
	}
	return x, y
}

func (m *Model) newPass(ctx context.Context, exec tile.Executor, x []byte, n, length int) *pass {
	return &pass{ctx: ctx, exec: exec, l: m.l, p: m.params, b: n, t: length, m: n * length, in: x,
		wts: map[int][][]float32{}}
}

// Logits runs the forward pass on n sequences of length tokens in x
// (n×length) and returns the logits (n·length × Vocab).
func (m *Model) Logits(ctx context.Context, exec tile.Executor, x []byte, n, length int) ([]float32, error) {
	if n < 1 || length < 1 || length > m.cfg.Context || len(x) != n*length {
		return nil, fmt.Errorf("lm: %d tokens for %d sequences of %d (context is %d)", len(x), n, length, m.cfg.Context)
	}
	ps := m.newPass(ctx, exec, x, n, length)
	if err := ps.forward(); err != nil {
		return nil, err
	}
	return ps.logits, nil
}

// Loss runs the forward pass on n windows of length+1 bytes (inputs and
// next-byte targets) and returns the summed negative log-likelihood in
// nats and the number of bytes scored. If skip is not nil, window s
// scores only its targets from position skip[s] on (an evaluation's last
// window, which overlaps targets already scored).
func (m *Model) Loss(ctx context.Context, exec tile.Executor, windows []byte, n, length int, skip []int) (float64, int, error) {
	if err := m.checkWindows(windows, n, length); err != nil {
		return 0, 0, err
	}
	if skip != nil && len(skip) != n {
		return 0, 0, fmt.Errorf("lm: %d skips for %d windows", len(skip), n)
	}
	x, y := inputs(windows, n, length)
	ps := m.newPass(ctx, exec, x, n, length)
	if err := ps.forward(); err != nil {
		return 0, 0, err
	}
	var nll float64
	count := 0
	for s := range n {
		from := 0
		if skip != nil {
			from = min(max(skip[s], 0), length)
		}
		rows := length - from
		r0 := s*length + from
		l, _ := CrossEntropy(ps.logits[r0*Vocab:(r0+rows)*Vocab], y[r0:r0+rows], rows, Vocab, false)
		nll += l
		count += rows
	}
	return nll, count, nil
}

// ErrDiverged is returned by Step when training has diverged.
var ErrDiverged = errors.New("training diverged")

// Trainer is a Model with AdamW's state, stepping on batches of windows.
type Trainer struct {
	*Model
	opt   *adamW
	batch int
	step  int
	// stepTime, if set, receives each completed step's duration.
	stepTime func(time.Duration)
	// GradNorm is the last step's gradient norm before clipping.
	GradNorm float64
}

// NewTrainer returns a trainer for cfg with batch sequences of full
// context per step.
func NewTrainer(cfg Config, opt OptConfig, batch int, seed uint64) (*Trainer, error) {
	if err := cfg.Validate(batch); err != nil {
		return nil, fmt.Errorf("invalid model: %w", err)
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	m, err := NewModel(cfg, seed)
	if err != nil {
		return nil, err
	}
	return &Trainer{Model: m, opt: newAdamW(opt, m.l), batch: batch}, nil
}

// StepsDone returns the number of optimizer steps applied.
func (t *Trainer) StepsDone() int { return t.step }

// BatchSize returns the sequences per step.
func (t *Trainer) BatchSize() int { return t.batch }

// SetStepTimer makes every completed step report its duration to f.
func (t *Trainer) SetStepTimer(f func(time.Duration)) { t.stepTime = f }

// StepFLOPs returns the matmul work of one training step: forward,
// input gradients and weight gradients of every tile.
func (t *Trainer) StepFLOPs() float64 {
	c := t.cfg
	m := float64(t.batch * c.Context)
	d := float64(c.Embd)
	linear := m * (d*3*d + d*d + 2*d*4*d) * float64(c.Layers)
	attn := 2 * float64(t.batch) * float64(c.Context) * float64(c.Context) * d * float64(c.Layers)
	head := m * d * Vocab
	return 2 * 3 * (linear + attn + head)
}

// gradients returns the mean loss of the windows and its gradient.
func (t *Trainer) gradients(ctx context.Context, exec tile.Executor, windows []byte) (float64, []float32, error) {
	if err := t.checkWindows(windows, t.batch, t.cfg.Context); err != nil {
		return 0, nil, err
	}
	x, y := inputs(windows, t.batch, t.cfg.Context)
	ps := t.newPass(ctx, exec, x, t.batch, t.cfg.Context)
	ps.train = true
	if err := ps.forward(); err != nil {
		return 0, nil, err
	}
	nll, dlogits := CrossEntropy(ps.logits, y, ps.m, Vocab, true)
	grad, err := ps.backward(dlogits)
	if err != nil {
		return 0, nil, err
	}
	return nll / float64(ps.m), grad, nil
}

// Step trains on batch windows of Context+1 bytes each (concatenated) and
// returns the mean loss in nats per byte before the update. Parameters are
// updated out of place: tiles still holding the old ones are undisturbed.
func (t *Trainer) Step(ctx context.Context, exec tile.Executor, windows []byte) (float64, error) {
	start := time.Now()
	loss, grad, err := t.gradients(ctx, exec, windows)
	if err != nil {
		return 0, err
	}
	t.GradNorm = t.opt.clip(grad)
	// A non-finite loss or gradient would turn every weight into NaN, and
	// every later tile's result with it; stop here instead, unchanged.
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(t.GradNorm) || math.IsInf(t.GradNorm, 0) {
		return 0, fmt.Errorf("%w at step %d (loss %v, gradient norm %v): lower the learning rate or clip gradients", ErrDiverged, t.step, loss, t.GradNorm)
	}
	next := make([]float32, len(t.params))
	t.opt.update(t.params, grad, next, t.step)
	t.params = next
	t.step++
	if t.stepTime != nil {
		t.stepTime(time.Since(start))
	}
	return loss, nil
}

// SaveCheckpoint writes the weights and AdamW's moments (package ckpt).
func (t *Trainer) SaveCheckpoint(path string) error {
	return ckpt.Write(path, ckpt.State{Step: t.step, Updates: t.opt.t, Vectors: [][]float32{t.params, t.opt.m, t.opt.v}})
}

// LoadCheckpoint replaces the trainer's state with the one in path.
func (t *Trainer) LoadCheckpoint(path string) error {
	st, err := ckpt.Read(path)
	if err != nil {
		return err
	}
	if len(st.Vectors) != 3 || len(st.Vectors[0]) != t.l.n || len(st.Vectors[1]) != t.l.n || len(st.Vectors[2]) != t.l.n {
		return fmt.Errorf("load checkpoint %s: %w: does not match a model of %d parameters with AdamW", path, ckpt.ErrCorrupt, t.l.n)
	}
	t.params, t.opt.m, t.opt.v = st.Vectors[0], st.Vectors[1], st.Vectors[2]
	t.opt.t, t.step = st.Updates, st.Step
	return nil
}

// Tensors returns the weights under Hugging Face GPT-2's names and shapes
// (Conv1D weights (in, out)); the LM head is tied to transformer.wte and
// is not stored, as transformers does. The metadata carries "format": "pt",
// which transformers requires of safetensors files.
func (m *Model) Tensors() ([]safetensors.Tensor, map[string]string) {
	out := make([]safetensors.Tensor, len(m.l.tensors))
	for i, ts := range m.l.tensors {
		out[i] = safetensors.Tensor{Name: ts.name, Shape: append([]int(nil), ts.shape...),
			Data: append([]float32(nil), m.params[ts.off:ts.off+ts.n]...)}
	}
	return out, map[string]string{"format": "pt", "tessera.model": "gpt2"}
}

// Tensors is Model.Tensors with the step in the metadata.
func (t *Trainer) Tensors() ([]safetensors.Tensor, map[string]string) {
	ts, meta := t.Model.Tensors()
	meta["tessera.step"] = strconv.Itoa(t.step)
	return ts, meta
}

// LoadTensors replaces the weights with tensors named and shaped as
// Tensors returns them (a safetensors export read back), checking that
// every tensor is present once with its shape.
func (m *Model) LoadTensors(ts []safetensors.Tensor) error {
	byName := map[string]safetensors.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	next := make([]float32, m.l.n)
	for _, info := range m.l.tensors {
		t, ok := byName[info.name]
		if !ok {
			return fmt.Errorf("lm: no tensor %s", info.name)
		}
		if !slices.Equal(t.Shape, info.shape) || len(t.Data) != info.n {
			return fmt.Errorf("lm: tensor %s has shape %v, the model wants %v", info.name, t.Shape, info.shape)
		}
		copy(next[info.off:], t.Data)
		delete(byName, info.name)
	}
	for name := range byName {
		return fmt.Errorf("lm: unexpected tensor %s", name)
	}
	m.params = next
	return nil
}
