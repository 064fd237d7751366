package train

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tessera-ai/tessera/hub/lm"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/store"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// DataDir holds checkpoints (under jobs/).
	DataDir string
	// OwnWorkers are addresses exempt from every job's exposure cap: the
	// operator's own machines.
	OwnWorkers []string
	// Data loads the data sets.
	Data *DataLoader
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives each job's step times; nil records none.
	Metrics *metrics.Metrics
}

// Manager runs a hub's training jobs: it restores them from the database
// at start, runs each as a separately owned model whose tiles go to
// contributors, and creates, pauses, resumes and removes jobs on request.
type Manager struct {
	cfg ManagerConfig
	hub *hub.Hub
	db  *store.DB
	log *slog.Logger

	// ops serializes the operator's actions on jobs (create, pause,
	// resume, remove): a resume takes a job out of runs while it reloads,
	// and two at once would load it twice.
	ops sync.Mutex

	mu   sync.Mutex
	ctx  context.Context
	runs map[string]*run
	// broken holds the jobs that could not be restored on start (a
	// corpus gone, a bad checkpoint): listed as failed with the reason,
	// so that an operator sees them and can remove them.
	broken map[string]JobStatus
	wg     sync.WaitGroup
}

// run is a job and the goroutine training it.
type run struct {
	job      *Job
	remote   *Remote
	exposure *Exposure
	cancel   context.CancelFunc
	done     chan struct{}

	// infer is the executor of the job's inference tiles, a source of the
	// hub for as long as the job exists (a paused or finished model is
	// still served); loaded is its latest checkpoint as served, and
	// frozen the same weights frozen for a language model (serve.go).
	infer      *Remote
	serveMu    sync.Mutex
	loaded     Model
	loadedStep int
	frozen     *lm.Model
}

// NewManager returns a manager for the jobs in db, leasing tiles on h.
func NewManager(h *hub.Hub, db *store.DB, cfg ManagerConfig) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Data == nil {
		cfg.Data = &DataLoader{}
	}
	m := &Manager{cfg: cfg, hub: h, db: db, log: cfg.Logger, runs: map[string]*run{}}
	h.SetJobsStatus(func() any { return m.Statuses() })
	h.SetJobDirectory(m.jobRefs)
	return m
}

// jobRefs lists the jobs contributors may choose, by ID: every restored job and
// every job that could not be restored (choosing one is harmless).
func (m *Manager) jobRefs() []hub.JobRef {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]hub.JobRef, 0, len(m.runs)+len(m.broken))
	for _, r := range m.runs {
		out = append(out, hub.JobRef{ID: r.job.ID, Name: r.job.Spec.Name, Model: r.job.Spec.Model.Type})
	}
	for _, st := range m.broken {
		out = append(out, hub.JobRef{ID: st.ID, Name: st.Name, Model: st.Model})
	}
	// In a stable order, as the status rows were: the hub lists the names
	// to contributors in this order, up to protocol.MaxAvailable.
	slices.SortFunc(out, func(a, b hub.JobRef) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Start restores every job from the database and resumes the running
// ones. Jobs keep running until ctx ends; Wait waits for them.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	rows, err := m.db.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if err := m.load(ctx, row); err != nil {
			m.log.Error("cannot restore job", "job", row.ID, "err", err)
			m.markBroken(ctx, row, err)
		}
	}
	return nil
}

// Wait blocks until every job goroutine has returned.
func (m *Manager) Wait() { m.wg.Wait() }

// Create validates spec, stores a new job and starts it. It returns the
// job's ID. A job that cannot load (its corpus, say) leaves nothing
// behind.
func (m *Manager) Create(ctx context.Context, spec Spec) (string, error) {
	return m.create(ctx, spec, false)
}

// CreateListed is Create for the hub's default jobs: one that cannot load
// here (no Go source tree for gocode-lm) is kept, listed as failed with
// the reason, so that the operator sees why it does not train (and a
// restart does not create it again).
func (m *Manager) CreateListed(ctx context.Context, spec Spec) (string, error) {
	return m.create(ctx, spec, true)
}

func (m *Manager) create(ctx context.Context, spec Spec, listFailure bool) (string, error) {
	m.ops.Lock()
	defer m.ops.Unlock()
	if err := spec.Validate(); err != nil {
		return "", err
	}
	tr, err := buildModel(spec, nil)
	if err != nil {
		return "", err
	}
	if f := slices.Max(tr.TileFractions()); f > spec.ExposureCap && len(m.cfg.OwnWorkers) == 0 {
		return "", fmt.Errorf("invalid job spec: one weight tile is %.1f%% of the weights, above the exposure cap of %.1f%%: use narrower tiles or a higher cap", 100*f, 100*spec.ExposureCap)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	var b [6]byte
	rand.Read(b[:])
	id := "job-" + hex.EncodeToString(b[:])
	if err := m.db.CreateJob(ctx, id, spec.Name, string(raw)); err != nil {
		return "", err
	}
	row, err := m.db.Job(ctx, id)
	if err != nil {
		return "", err
	}
	if err := m.load(ctx, row); err != nil {
		if listFailure {
			m.markBroken(ctx, row, err)
			return id, err
		}
		if derr := m.db.DeleteJob(context.WithoutCancel(ctx), id); derr != nil {
			m.log.Error("remove a job that could not load", "job", id, "err", derr)
		}
		removeAll(filepath.Join(m.cfg.DataDir, "jobs", id))
		return "", err
	}
	m.log.Info("job created", "job", id, "name", spec.Name)
	return id, nil
}

// load builds a job from its row and, if it is running, starts it.
func (m *Manager) load(ctx context.Context, row store.Job) error {
	var spec Spec
	if err := json.Unmarshal([]byte(row.Spec), &spec); err != nil {
		return fmt.Errorf("job %s: stored spec: %w", row.ID, err)
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("job %s: %w", row.ID, err)
	}
	data, err := m.cfg.Data.ForSpec(ctx, spec)
	if err != nil {
		return fmt.Errorf("load data: %w", err)
	}
	prior, err := m.db.Exposure(ctx, row.ID)
	if err != nil {
		return err
	}
	r := &run{}
	tr, err := buildModel(spec, nil)
	if err != nil {
		return err
	}
	r.exposure = NewExposure(spec.ExposureCap, tr.TileFractions(), m.cfg.OwnWorkers, prior,
		func(addr string, tile int) error {
			return m.db.RecordExposure(context.Background(), row.ID, addr, tile)
		})
	r.remote = NewRemote(row.ID, m.hub, r.exposure)
	r.remote.SendIn(spec.wire())
	r.infer = NewInferenceRemote(row.ID, m.hub, r.exposure)
	if spec.OrdinaryKeepers && m.hub.OrdinaryMayKeep() {
		// Weights reach ordinary contributors only as blocks they keep,
		// for training and inference alike. (On a hub where nobody may
		// keep, that would leave the hub computing most of every step.)
		r.remote.SetKeptOnly()
		r.infer.SetKeptOnly()
	}
	r.job, err = newJob(ctx, spec, row, jobConfig{id: row.ID, root: m.cfg.DataDir, exec: r.remote, db: m.db, data: data, log: m.log})
	if err != nil {
		return err
	}
	r.job.model.SetStepTimer(m.cfg.Metrics.StepTimer(row.ID))
	if k, ok := r.job.model.(interface{ SetKeeper(Keeper) }); ok {
		k.SetKeeper(r.remote)
	}
	r.job.series = m.cfg.Metrics.Job(row.ID)
	m.mu.Lock()
	m.runs[row.ID] = r
	m.mu.Unlock()
	m.hub.AddSource(r.infer)
	if row.State == store.StateRunning {
		m.start(r)
	}
	return nil
}

// start launches the job's goroutine.
func (m *Manager) start(r *run) {
	m.mu.Lock()
	ctx, cancel := context.WithCancel(m.ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	m.mu.Unlock()
	r.job.setState(store.StateRunning, "")
	m.hub.AddSource(r.remote)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		err := r.job.Run(ctx)
		m.hub.RemoveSource(r.remote)
		if err != nil && ctx.Err() == nil {
			m.log.Error("job failed", "job", r.job.ID, "err", err)
			r.job.setState(store.StateFailed, err.Error())
			m.db.SetState(context.Background(), r.job.ID, store.StateFailed, err.Error())
		}
	}()
}

// stop cancels the job's goroutine and waits for it.
func (r *run) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// ErrUnknownJob is returned for an ID that names no job.
var ErrUnknownJob = errors.New("unknown job")

// ErrAmbiguousJob is returned for a name that several jobs have.
var ErrAmbiguousJob = errors.New("ambiguous job name")

// Resolve returns the ID of the job that ref names: its ID, or its name
// when exactly one job has that name (names need not be unique; an
// operator who gave two jobs the same one is told their IDs). The jobs
// API and tessera-admin take either, so that gocode-lm's weights are at
// /api/v1/jobs/gocode-lm/weights.
func (m *Manager) Resolve(ref string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[ref]; ok {
		return ref, nil
	}
	var ids []string
	if st, ok := m.broken[ref]; ok {
		return st.ID, nil
	}
	for id, r := range m.runs {
		if r.job.Spec.Name == ref {
			ids = append(ids, id)
		}
	}
	for id, st := range m.broken {
		if st.Name == ref {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w %q", ErrUnknownJob, ref)
	case 1:
		return ids[0], nil
	}
	slices.Sort(ids)
	return "", fmt.Errorf("%w: %d jobs are named %q (%s); use an ID", ErrAmbiguousJob, len(ids), ref, strings.Join(ids, ", "))
}

// ErrBrokenJob is returned for a job that could not be restored or
// resumed: it is listed, failed, and can only be removed.
var ErrBrokenJob = errors.New("the job could not be restored")

// lookup returns the job ref names (Resolve, then get).
func (m *Manager) lookup(ref string) (*run, error) {
	id, err := m.Resolve(ref)
	if err != nil {
		return nil, err
	}
	return m.get(id)
}

// get returns the job of ID id.
func (m *Manager) get(id string) (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		if st, broken := m.broken[id]; broken {
			return nil, fmt.Errorf("job %s: %w (%s); remove it", id, ErrBrokenJob, st.Error)
		}
		return nil, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return r, nil
}

// markBroken lists the job of row as failed with err, to be removed: its
// row is kept (and the error stored) so that the operator sees what
// happened.
func (m *Manager) markBroken(ctx context.Context, row store.Job, err error) {
	// Stored even if the request that failed was cancelled: a row left
	// "running" would load, and train, at the next start.
	if serr := m.db.SetState(context.WithoutCancel(ctx), row.ID, store.StateFailed, err.Error()); serr != nil {
		m.log.Error("record a job as failed", "job", row.ID, "err", serr)
	}
	// What the stored spec says, as far as it can be read (it may be
	// what failed).
	var spec Spec
	json.Unmarshal([]byte(row.Spec), &spec)
	m.mu.Lock()
	if m.broken == nil {
		m.broken = map[string]JobStatus{}
	}
	m.broken[row.ID] = JobStatus{ID: row.ID, Name: row.Name, Created: row.CreatedAt, Model: spec.Model.Type, State: store.StateFailed,
		Step: row.Step, MaxSteps: spec.MaxSteps, TargetAccuracy: spec.TargetAccuracy, ExposureCap: spec.ExposureCap, Error: err.Error()}
	m.mu.Unlock()
}

// Pause stops a running job (ref: its ID, or a name only it has) after
// its current step; it resumes from its last checkpoint.
func (m *Manager) Pause(ctx context.Context, ref string) error {
	return m.byRef(ctx, ref, m.pause)
}

// Resume restarts a paused job (ref as for Pause) from its last
// checkpoint.
func (m *Manager) Resume(ctx context.Context, ref string) error {
	return m.byRef(ctx, ref, m.resume)
}

// Remove stops a job (ref as for Pause) and deletes it with its history
// and checkpoints.
func (m *Manager) Remove(ctx context.Context, ref string) error {
	return m.byRef(ctx, ref, m.remove)
}

// byRef resolves ref and runs act on the job's ID.
func (m *Manager) byRef(ctx context.Context, ref string, act func(context.Context, string) error) error {
	id, err := m.Resolve(ref)
	if err != nil {
		return err
	}
	return act(ctx, id)
}

// pause, resume and remove act on the job of ID id, one action at a time
// (Manager.ops).
func (m *Manager) pause(ctx context.Context, id string) error {
	m.ops.Lock()
	defer m.ops.Unlock()
	r, err := m.get(id)
	if err != nil {
		return err
	}
	r.stop()
	r.job.setState(store.StatePaused, "")
	return m.db.SetState(ctx, id, store.StatePaused, "")
}

func (m *Manager) resume(ctx context.Context, id string) error {
	m.ops.Lock()
	defer m.ops.Unlock()
	r, err := m.get(id)
	if err != nil {
		return err
	}
	if st := r.job.Status(nil).State; st != store.StatePaused {
		return fmt.Errorf("job %s is %s, not paused", id, st)
	}
	if err := m.db.SetState(ctx, id, store.StateRunning, ""); err != nil {
		return err
	}
	row, err := m.db.Job(ctx, id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.runs, id)
	m.mu.Unlock()
	m.hub.RemoveSource(r.infer)
	if err := m.load(ctx, row); err != nil {
		// Its data or checkpoint could not be read again: list it as
		// failed, to be removed, rather than lose sight of it.
		m.markBroken(ctx, row, err)
		return err
	}
	return nil
}

func (m *Manager) remove(ctx context.Context, id string) error {
	m.ops.Lock()
	defer m.ops.Unlock()
	m.mu.Lock()
	_, broken := m.broken[id]
	m.mu.Unlock()
	if broken {
		if err := m.db.DeleteJob(ctx, id); err != nil {
			return err
		}
		m.mu.Lock()
		delete(m.broken, id)
		m.mu.Unlock()
		m.cfg.Metrics.ForgetJob(id)
		m.hub.ForgetWire(id)
		return removeAll(filepath.Join(m.cfg.DataDir, "jobs", id))
	}
	r, err := m.get(id)
	if err != nil {
		return err
	}
	r.stop()
	m.hub.RemoveSource(r.infer)
	m.mu.Lock()
	delete(m.runs, id)
	m.mu.Unlock()
	if err := m.db.DeleteJob(ctx, id); err != nil {
		return err
	}
	m.cfg.Metrics.ForgetJob(id)
	m.hub.ForgetWire(id)
	return removeAll(r.job.dir)
}

// Statuses returns every job's summary, oldest first.
func (m *Manager) Statuses() []JobStatus {
	m.mu.Lock()
	runs := make([]*run, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
	}
	out := make([]JobStatus, 0, len(runs)+len(m.broken))
	for _, st := range m.broken {
		out = append(out, st)
	}
	m.mu.Unlock()
	for _, r := range runs {
		st := r.job.Status(r.exposure)
		w := m.hub.Wire(r.job.ID)
		st.Wire, st.WireBytesPerGFLOP = &w, w.BytesPerGFLOP()
		out = append(out, st)
	}
	sortStatuses(out)
	return out
}
