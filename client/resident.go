package client

import (
	"fmt"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// applyResident finishes a resident update (see protocol's "Resident
// weights"): w.c holds the gradient the task's product computed; the kept
// weights and momentum take one step of SGD with momentum in place, and
// the result is what the task's mode asks for instead of the gradient.
//
// The kept matrices are only ever touched here, on the goroutine that runs
// tasks one at a time in arrival order, so every task sees the weights as
// the hub meant them: updated by the updates sent before it.
func (w *work) applyResident() ([]float32, error) {
	t := &w.task
	kw, kv := t.Kept()
	r := t.Resident
	if err := kernel.MomentumStep(kw, kv, w.c, r.LR, r.Momentum); err != nil {
		return nil, fmt.Errorf("resident update: %w", err)
	}
	switch r.Mode {
	case protocol.ResidentStep:
		w.out = kernel.SquaredNorms(w.out[:0], kw, t.Shape.M, t.Shape.N)
	case protocol.ResidentStepReturn:
		w.out = append(append(w.out[:0], kw...), kv...)
	default:
		return nil, fmt.Errorf("unknown resident mode %d", r.Mode)
	}
	return w.out, nil
}
