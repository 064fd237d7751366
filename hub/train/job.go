package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// Job is one training job running on the hub: a Model stepping through
// its data with an Executor, checkpointed every CheckpointEvery steps and
// evaluated on held-out data every EvalEvery steps (a bounded sample for
// language models, so evaluation never stalls training; the whole split
// when the job ends).
type Job struct {
	ID   string
	Spec Spec

	model  Model
	exec   tile.Executor
	evalX  tile.Executor
	db     *store.DB
	dir    string // the job's checkpoint directory
	rel    string // dir relative to the data directory
	root   string // the data directory
	log    *slog.Logger
	onStep func(step int, loss float64)

	mu       sync.Mutex
	step     int // steps applied, mirrored from the trainer for readers
	created  time.Time
	state    string
	lastLoss float64
	lossSum  float64
	lossN    int
	stepTime time.Duration // moving average
	// Moving averages of the parts of a step: the hub computing (element-
	// wise work, splitting and gathering tiles, the optimizer) and the hub
	// waiting for contributors' tiles.
	hubTime, waitTime time.Duration
	series            metrics.JobSeries
	lastPoint         *store.Point
	err               string
	// Training throughput since the last evaluation: steps and the time
	// spent in them.
	tokens   int
	stepBusy time.Duration
	// sample is the language model's latest sample (nil otherwise).
	sample *Sample
	// rollbacks counts the times resident weights were lost and the model
	// went back to its last anchor.
	rollbacks int
}

// jobConfig is what a Job needs besides its spec.
type jobConfig struct {
	id, root string
	exec     tile.Executor
	db       *store.DB
	data     *Data
	log      *slog.Logger
}

// newJob builds a job and restores its last checkpoint, if any.
func newJob(ctx context.Context, spec Spec, row store.Job, c jobConfig) (*Job, error) {
	tr, err := buildModel(spec, c.data)
	if err != nil {
		return nil, err
	}
	rel := filepath.Join("jobs", c.id)
	j := &Job{ID: c.id, Spec: spec, model: tr, exec: roundOperands(c.exec, spec.wire()), evalX: tile.NewLocal(0),
		db: c.db, dir: filepath.Join(c.root, rel), rel: rel, root: c.root, log: c.log.With("job", c.id), state: row.State, created: row.CreatedAt}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return nil, fmt.Errorf("job %s: %w", c.id, err)
	}
	if row.Checkpoint != "" {
		if err := tr.LoadCheckpoint(filepath.Join(c.root, row.Checkpoint)); err != nil {
			return nil, fmt.Errorf("job %s: %w", c.id, err)
		}
		if tr.StepsDone() != row.Step {
			return nil, fmt.Errorf("job %s: checkpoint holds step %d, the database says %d", c.id, tr.StepsDone(), row.Step)
		}
		j.log.Info("resumed from checkpoint", "step", row.Step)
	}
	j.step = tr.StepsDone()
	if h, err := c.db.History(ctx, c.id); err == nil && len(h) > 0 {
		p := h[len(h)-1]
		j.lastPoint = &p
	}
	return j, nil
}

// errTargetReached ends Run when the job has met its target.
var errTargetReached = errors.New("target reached")

// Run trains until the job is done, ctx ends, or a step fails. It returns
// nil when the job finished (target or max steps).
func (j *Job) Run(ctx context.Context) error {
	if j.lastPoint != nil && j.targetMet(*j.lastPoint) && j.lastPoint.Step <= j.model.StepsDone() {
		return j.finish(ctx, "target reached before the restart")
	}
	defer func() {
		j.mu.Lock()
		j.releaseWeightsLocked()
		j.mu.Unlock()
	}()
	var blocked atomic.Int64
	exec := tile.Timed(j.exec, &blocked)
	for j.model.StepsDone() < j.Spec.MaxSteps {
		step := j.model.StepsDone()
		start := time.Now()
		loss, err := j.model.Step(ctx, exec)
		if errors.Is(err, errRolledBack) && ctx.Err() == nil {
			// Resident weights lost with a contributor: the model went
			// back to its last anchor and does those steps again.
			j.log.Warn("resident weights lost; redoing steps from the last anchor", "from", j.model.StepsDone(), "to", step, "err", err)
			blocked.Store(0)
			j.mu.Lock()
			j.rollbacks++
			j.mu.Unlock()
			continue
		}
		if err != nil {
			return err
		}
		j.recordStep(loss, time.Since(start), time.Duration(blocked.Swap(0)))
		done := step + 1
		if j.onStep != nil {
			j.onStep(done, loss)
		}
		if done%j.Spec.EvalEvery == 0 || done == j.Spec.MaxSteps {
			err := j.evaluate(ctx, done == j.Spec.MaxSteps)
			if errors.Is(err, errTargetReached) && !j.lastEvalFull() {
				// A sample met the target: the whole split decides, and
				// is the figure the job ends with.
				err = j.evaluate(ctx, true)
			}
			if errors.Is(err, errTargetReached) {
				if err := j.checkpoint(ctx); err != nil {
					return err
				}
				return j.finish(ctx, "reached the target")
			} else if err != nil {
				return err
			}
		}
		if done%j.Spec.CheckpointEvery == 0 {
			if err := j.checkpoint(ctx); err != nil {
				return err
			}
		}
	}
	if err := j.checkpoint(ctx); err != nil && !errors.Is(err, store.ErrStepNotAhead) {
		return err
	}
	return j.finish(ctx, "reached max steps")
}

// recordStep records a step that took took, of which it waited for
// contributors for waited.
func (j *Job) recordStep(loss float64, took, waited time.Duration) {
	j.series.Step(took-waited, waited)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.hubTime == 0 {
		j.hubTime, j.waitTime = took-waited, waited
	} else {
		j.hubTime = (9*j.hubTime + took - waited) / 10
		j.waitTime = (9*j.waitTime + waited) / 10
	}
	j.step = j.model.StepsDone()
	j.tokens += j.model.StepTokens()
	j.stepBusy += took
	j.lastLoss = loss
	j.lossSum += loss
	j.lossN++
	if j.stepTime == 0 {
		j.stepTime = took
	} else {
		j.stepTime = (9*j.stepTime + took) / 10
	}
}

func (j *Job) finish(ctx context.Context, why string) error {
	j.log.Info("job done", "why", why, "step", j.model.StepsDone())
	j.mu.Lock() // a status never shows the job done with its weights kept
	j.releaseWeightsLocked()
	j.state, j.err = store.StateDone, ""
	j.mu.Unlock()
	return j.db.SetState(ctx, j.ID, store.StateDone, "")
}

// releaseWeightsLocked lets the workers keeping the model's weights
// forget them (Trainer.ReleaseWeights). Run calls it however it returns:
// a stopped or failed job must not hold their caches.
func (j *Job) releaseWeightsLocked() {
	if k, ok := j.model.(interface{ ReleaseWeights() }); ok {
		k.ReleaseWeights()
	}
}

func (j *Job) setState(state, msg string) {
	j.mu.Lock()
	j.state, j.err = state, msg
	j.mu.Unlock()
}

// evaluate scores the model on held-out data (the whole split if full)
// and appends the result to the history; it returns errTargetReached when
// the target is met.
func (j *Job) evaluate(ctx context.Context, full bool) error {
	ev, err := j.model.Evaluate(ctx, j.evalExecutor(), full)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	j.mu.Lock()
	train := j.lastLoss
	if j.lossN > 0 {
		train = j.lossSum / float64(j.lossN)
	}
	var tps float64
	if j.stepBusy > 0 {
		tps = float64(j.tokens) / j.stepBusy.Seconds()
	}
	if j.lossN == 0 && j.lastPoint != nil && j.lastPoint.Step == j.model.StepsDone() {
		// A second evaluation of the same step (the whole split after a
		// sample met the target) keeps the step's training figures.
		train, tps = j.lastPoint.TrainLoss, j.lastPoint.TokensPerSecond
	}
	j.lossSum, j.lossN, j.tokens, j.stepBusy = 0, 0, 0, 0
	p := store.Point{Step: j.model.StepsDone(), At: time.Now(), TrainLoss: train, TestLoss: ev.Loss, TestAccuracy: ev.Accuracy,
		BitsPerByte: ev.BitsPerByte, TokensPerSecond: tps, Full: ev.Full}
	j.lastPoint = &p
	j.mu.Unlock()
	if err := j.db.AddPoint(ctx, j.ID, p); err != nil {
		return err
	}
	j.series.Evaluated(ev.BitsPerByte, tps)
	// A classifier's figure is its accuracy, a language model's its bits
	// per byte; each logs only its own.
	quality := []any{"test_accuracy", fmt.Sprintf("%.4f", ev.Accuracy)}
	if _, ok := j.model.(*lmModel); ok {
		quality = []any{"bits_per_byte", fmt.Sprintf("%.4f", ev.BitsPerByte)}
	}
	j.log.Info("evaluated", append([]any{"step", p.Step, "train_loss", fmt.Sprintf("%.4f", train),
		"test_loss", fmt.Sprintf("%.4f", ev.Loss)}, append(quality, "full", ev.Full, "scored", ev.Count)...)...)
	if lmm, ok := j.model.(*lmModel); ok {
		smp := lmm.sample()
		j.mu.Lock()
		j.sample = &smp
		j.mu.Unlock()
	}
	if j.targetMet(p) {
		return errTargetReached
	}
	return nil
}

// evalExecutor is where evaluations run: a language model's forward
// passes over the validation split are as much work as training steps and
// go to contributors like them; the MLP's test set is small and is scored
// on the hub.
func (j *Job) evalExecutor() tile.Executor {
	if j.Spec.Model.Type == "gpt2" {
		return j.exec
	}
	return j.evalX
}

// lastEvalFull reports whether the latest evaluation scored the whole
// held-out split.
func (j *Job) lastEvalFull() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastPoint != nil && j.lastPoint.Full
}

// targetMet reports whether the evaluation p meets the spec's target.
func (j *Job) targetMet(p store.Point) bool {
	if j.Spec.TargetAccuracy > 0 && p.TestAccuracy >= j.Spec.TargetAccuracy {
		return true
	}
	return j.Spec.TargetBitsPerByte > 0 && p.BitsPerByte > 0 && p.BitsPerByte <= j.Spec.TargetBitsPerByte
}

// checkpoint saves the trainer, records the file in the database, and
// deletes the checkpoint it replaces. The database row is updated only
// after the file is durable, so it never names a missing or partial file.
func (j *Job) checkpoint(ctx context.Context) error {
	step := j.model.StepsDone()
	name := fmt.Sprintf("ckpt-%09d.bin", step)
	if err := j.model.SaveCheckpoint(filepath.Join(j.dir, name)); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(j.dir, "ckpt-*.bin"))
	if err := j.db.SetCheckpoint(ctx, j.ID, step, filepath.Join(j.rel, name)); err != nil {
		return err
	}
	for _, f := range old {
		if filepath.Base(f) != name {
			os.Remove(f)
		}
	}
	return nil
}

// JobStatus is a job's summary in GET /api/v1/jobs and /api/v1/status.
type JobStatus struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	Created              time.Time    `json:"created_at"`
	State                string       `json:"state"`
	Step                 int          `json:"step"`
	MaxSteps             int          `json:"max_steps"`
	TargetAccuracy       float64      `json:"target_accuracy"`
	LastLoss             float64      `json:"last_loss"`
	StepMillis           float64      `json:"step_ms"`
	Latest               *store.Point `json:"latest,omitempty"`
	ExposureCap          float64      `json:"exposure_cap"`
	MaxExposure          float64      `json:"max_exposure"`
	MaxExposureNonExempt float64      `json:"max_exposure_non_exempt"`
	Error                string       `json:"error,omitempty"`
	// Model is the spec's model type ("mlp", "gpt2").
	Model string `json:"model"`
	// TokensPerSecond is the step-rate throughput of the latest steps
	// (tokens for a language model, examples otherwise).
	TokensPerSecond float64 `json:"tokens_per_second"`
	// BitsPerByte is the language model's latest validation figure.
	BitsPerByte float64 `json:"bits_per_byte,omitempty"`
	// Sample is text the language model wrote at its latest evaluation.
	Sample *Sample `json:"sample,omitempty"`
	// HubMillis and WaitMillis split StepMillis (moving averages): the
	// hub computing, and the hub waiting for contributors' tiles.
	HubMillis  float64 `json:"hub_ms"`
	WaitMillis float64 `json:"contributors_ms"`
	// WireBytesPerGFLOP is the bytes of the job's tasks on contributors'
	// websockets per useful GFLOP since the hub started (hub.WireStats;
	// RATIONALE.md defines useful FLOP); Wire holds the totals. The
	// manager fills both in.
	WireBytesPerGFLOP float64        `json:"wire_bytes_per_gflop"`
	Wire              *hub.WireStats `json:"wire,omitempty"`
	// ResidentWeights says the operator's own workers keep the weights
	// while one is connected (Spec.ResidentWeights); WeightsKept, that one
	// keeps them now; ResidentRollbacks counts the times one was lost and
	// the job went back to its last anchor; BlocksRecovered, with ordinary
	// keepers, the blocks whose keeper was lost and which the hub rebuilt
	// instead.
	ResidentWeights   bool `json:"resident_weights,omitempty"`
	WeightsKept       bool `json:"weights_kept,omitempty"`
	ResidentRollbacks int  `json:"resident_rollbacks,omitempty"`
	BlocksRecovered   int  `json:"blocks_recovered,omitempty"`
}

// Status returns the job's summary; exposure may be nil for local jobs.
func (j *Job) Status(exposure *Exposure) JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := JobStatus{ID: j.ID, Name: j.Spec.Name, Created: j.created, State: j.state, Step: j.step, MaxSteps: j.Spec.MaxSteps,
		TargetAccuracy: j.Spec.TargetAccuracy, LastLoss: j.lastLoss, StepMillis: float64(j.stepTime.Microseconds()) / 1000,
		Latest: j.lastPoint, ExposureCap: j.Spec.ExposureCap, Error: j.err, Model: j.Spec.Model.Type, Sample: j.sample,
		ResidentWeights: j.Spec.ResidentWeights, ResidentRollbacks: j.rollbacks}
	if k, ok := j.model.(interface{ WeightsKept() bool }); ok {
		st.WeightsKept = k.WeightsKept()
	}
	if k, ok := j.model.(interface{ BlocksRecovered() int }); ok {
		st.BlocksRecovered = k.BlocksRecovered()
	}
	st.HubMillis = float64(j.hubTime.Microseconds()) / 1000
	st.WaitMillis = float64(j.waitTime.Microseconds()) / 1000
	if j.stepTime > 0 {
		st.TokensPerSecond = float64(j.model.StepTokens()) / j.stepTime.Seconds()
	}
	if j.lastPoint != nil {
		st.BitsPerByte = j.lastPoint.BitsPerByte
	}
	if exposure != nil {
		st.MaxExposure, _ = exposure.MaxFraction()
		st.MaxExposureNonExempt = exposure.MaxFractionNonExempt()
	}
	return st
}
