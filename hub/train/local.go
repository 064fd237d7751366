package train

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// LocalOptions configures TrainLocal.
type LocalOptions struct {
	// Dir holds the run's database and checkpoints.
	Dir string
	// Workers is the number of goroutines computing tiles (GOMAXPROCS
	// when < 1).
	Workers int
	// OnStep, if set, is called after every step with its loss.
	OnStep func(step int, loss float64)
	// Logger; nil discards.
	Logger *slog.Logger
}

// TrainLocal is the reference trainer: it runs spec in this process with
// the Local executor instead of contributors, through the same Job code
// (data order, steps, evaluation, checkpoints) as the hub. It returns the
// finished job, whose History and Status can be read.
func TrainLocal(ctx context.Context, spec Spec, data *Data, opt LocalOptions) (*Job, []store.Point, error) {
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	// Weights resident at contributors are the same arithmetic as the
	// hub's own sgd (kernel.MomentumStep): here the process keeps them.
	spec.ResidentWeights = false
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := store.Open(ctx, filepath.Join(opt.Dir, "local.db"))
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	raw, _ := json.Marshal(spec)
	const id = "local"
	if err := db.CreateJob(ctx, id, spec.Name, string(raw)); err != nil {
		return nil, nil, err
	}
	row, err := db.Job(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	j, err := newJob(ctx, spec, row, jobConfig{id: id, root: opt.Dir, exec: tile.NewLocal(opt.Workers), db: db, data: data, log: log})
	if err != nil {
		return nil, nil, err
	}
	j.onStep = opt.OnStep
	if err := j.Run(ctx); err != nil {
		return j, nil, fmt.Errorf("local training: %w", err)
	}
	hist, err := db.History(ctx, id)
	return j, hist, err
}
