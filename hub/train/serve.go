package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// Serving: what hub/infer needs of the jobs to answer completions. A
// model is served from its job's latest checkpoint, loaded into a frozen
// copy (never the weights the job is training), and its tiles go to
// contributors through the job's inference Remote: Urgent, and under the
// job's one exposure record.

// ServedModel describes a language model that can be served.
type ServedModel struct {
	// Name is the model's id in the API: the job's name, or its ID when
	// an older job already has that name.
	Name    string
	JobID   string
	Created time.Time
	Step    int // of the latest checkpoint
	Context int // the model's context length in tokens
}

// ErrNotServable is returned for a model that is not a language model
// with a checkpoint.
var ErrNotServable = errors.New("no such language model with a checkpoint")

// ServedModels lists the language models with a checkpoint, oldest job
// first.
func (m *Manager) ServedModels(ctx context.Context) ([]ServedModel, error) {
	rows, err := m.db.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ServedModel
	seen := map[string]bool{}
	for _, row := range rows {
		r, ok := m.runs[row.ID]
		if !ok || r.job.Spec.Model.Type != "gpt2" || row.Checkpoint == "" {
			continue
		}
		name := row.Name
		if seen[name] {
			name = row.ID
		}
		seen[name] = true
		out = append(out, ServedModel{Name: name, JobID: row.ID, Created: row.CreatedAt, Step: row.Step, Context: r.job.Spec.Model.NPositions})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, nil
}

// Checkpoint returns the latest checkpoint of the language model named
// name (as ServedModels names it), frozen, with its step and the executor
// its inference tiles go to. A checkpoint is loaded once: later calls
// return the same model until the job writes a newer one.
func (m *Manager) Checkpoint(ctx context.Context, name string) (*lm.Model, int, tile.Executor, error) {
	models, err := m.ServedModels(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	var sm *ServedModel
	for i := range models {
		if models[i].Name == name {
			sm = &models[i]
			break
		}
	}
	if sm == nil {
		return nil, 0, nil, fmt.Errorf("%w: %q", ErrNotServable, name)
	}
	r, err := m.get(sm.JobID)
	if err != nil {
		return nil, 0, nil, err
	}
	_, step, err := m.served(ctx, r, sm.Step)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("load %s's checkpoint: %w", name, err)
	}
	if r.frozen == nil {
		return nil, 0, nil, fmt.Errorf("%w: %q is not a language model", ErrNotServable, name)
	}
	return r.frozen, step, r.infer, nil
}

// served returns the job's latest checkpoint, which the database says is
// of step, loaded into a model of its own (and, for a language model,
// frozen in r.frozen): loaded once, then returned until the job writes a
// newer one.
func (m *Manager) served(ctx context.Context, r *run, step int) (Model, int, error) {
	r.serveMu.Lock()
	defer r.serveMu.Unlock()
	if r.loaded != nil && r.loadedStep == step {
		return r.loaded, r.loadedStep, nil
	}
	// The job deletes an old checkpoint once it has written the next: on
	// a miss, read the row again and retry once.
	for try := 0; ; try++ {
		row, err := m.db.Job(ctx, r.job.ID)
		if err != nil {
			return nil, 0, err
		}
		if row.Checkpoint == "" {
			return nil, 0, errNoCheckpoint
		}
		model, err := buildModel(r.job.Spec, nil)
		if err == nil {
			err = model.LoadCheckpoint(filepath.Join(m.cfg.DataDir, row.Checkpoint))
		}
		if err != nil {
			if try == 0 {
				continue
			}
			return nil, 0, err
		}
		r.loaded, r.loadedStep, r.frozen = model, row.Step, nil
		if lmm, ok := model.(*lmModel); ok {
			r.frozen = lmm.Model.Frozen()
		}
		return model, row.Step, nil
	}
}

// WhyNotServed explains why no model named name can be served, for the
// API's 404: a language model still before its first checkpoint, or a
// job that is not a language model. It returns "" for a name no job has.
func (m *Manager) WhyNotServed(ctx context.Context, name string) string {
	rows, err := m.db.Jobs(ctx)
	if err != nil {
		return ""
	}
	for _, row := range rows {
		if row.Name != name && row.ID != name {
			continue
		}
		m.mu.Lock()
		r, ok := m.runs[row.ID]
		m.mu.Unlock()
		switch {
		case !ok:
			return fmt.Sprintf("job %s could not be restored", row.ID)
		case r.job.Spec.Model.Type != "gpt2":
			return fmt.Sprintf("%s is a %s job, not a language model", name, r.job.Spec.Model.Type)
		case row.Checkpoint == "":
			return fmt.Sprintf("%s has no checkpoint yet: it is at training step %d, and the first checkpoint comes at step %d", name, row.Step, r.job.Spec.CheckpointEvery)
		}
	}
	return ""
}

// Classify runs the latest checkpoint of the MLP job id (its ID, or a
// name only it has: a shared name is ErrAmbiguousJob) on images (each the
// model's input width) and returns each one's class probabilities with
// the checkpoint's step and the job's ID. The forward pass's tiles go to
// contributors through the job's inference Remote (urgent, under its
// exposure cap), or to exec when it is not nil (the hub computing).
func (m *Manager) Classify(ctx context.Context, id string, images [][]float32, exec tile.Executor) ([][]float64, int, string, error) {
	r, err := m.lookup(id) // a broken job says why
	if errors.Is(err, ErrAmbiguousJob) {
		return nil, 0, "", err
	} else if err != nil {
		return nil, 0, "", fmt.Errorf("%w: %q: %w", ErrNotServable, id, err)
	}
	jobID := r.job.ID
	row, err := m.db.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) { // removed meanwhile
		return nil, 0, "", fmt.Errorf("%w: %q: %w", ErrNotServable, id, ErrUnknownJob)
	} else if err != nil {
		return nil, 0, "", err
	}
	step := row.Step
	if r.job.Spec.Model.Type != "mlp" {
		return nil, 0, "", fmt.Errorf("%w: %q is a %s job; classification is for mlp jobs", ErrNotServable, id, r.job.Spec.Model.Type)
	}
	model, step, err := m.served(ctx, r, step)
	if err != nil {
		return nil, 0, "", fmt.Errorf("%w: %v", ErrNotServable, err)
	}
	mlp := model.(*mlpModel)
	in := mlp.m.layers[0].in
	x := make([]float32, 0, len(images)*in)
	for i, img := range images {
		if len(img) != in {
			return nil, 0, "", fmt.Errorf("%w: image %d has %d values, the model takes %d", ErrBadInput, i, len(img), in)
		}
		for _, v := range img {
			if v != v || v < -1e6 || v > 1e6 {
				return nil, 0, "", fmt.Errorf("%w: image %d holds %v", ErrBadInput, i, v)
			}
		}
		x = append(x, img...)
	}
	if exec == nil {
		exec = r.infer
	}
	p, err := mlp.Classify(ctx, exec, x, len(images))
	return p, step, jobID, err
}

// ErrBadInput is returned for input a model cannot take.
var ErrBadInput = errors.New("bad input")
