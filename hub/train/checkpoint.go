package train

import (
	"fmt"

	"github.com/tessera-ai/tessera/hub/train/ckpt"
)

// ErrCorruptCheckpoint is returned for a checkpoint that fails its checks.
var ErrCorruptCheckpoint = ckpt.ErrCorrupt

// SaveCheckpoint writes the trainer's parameters and optimizer state to
// path atomically (see package ckpt).
func (t *Trainer) SaveCheckpoint(path string) error {
	vecs, updates := t.opt.state()
	return ckpt.Write(path, ckpt.State{Step: t.step, Updates: updates, Vectors: append([][]float32{t.params}, vecs...)})
}

// LoadCheckpoint replaces the trainer's state with the one in path, after
// checking the file and its sizes against the model.
func (t *Trainer) LoadCheckpoint(path string) error {
	st, err := ckpt.Read(path)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("load checkpoint %s: %w: %s", path, ckpt.ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(st.Vectors[0]) != len(t.params) {
		return bad("parameters do not match the model (%d values)", len(t.params))
	}
	if err := t.opt.setState(st.Vectors[1:], st.Updates); err != nil {
		return bad("%v", err)
	}
	t.params = st.Vectors[0]
	t.step = st.Step
	if t.res != nil && t.res.blocks != nil {
		t.res.forget() // installed again from these weights at the next step
	}
	return nil
}
