package hub

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// MatmulJob is the built-in job that produces random matmul tile tasks of a
// fixed shape, cycling through the kernel variants. It exercises and
// benchmarks the whole path before a training job exists.
type MatmulJob struct {
	shape kernel.Shape
	ops   []kernel.Op
	limit int64 // 0 means unlimited

	mu     sync.Mutex
	rng    *rand.Rand
	issued int64
	nextOp int
	done   atomic.Int64
	onDone func(t *Task, c []float32)
}

// MatmulConfig configures a MatmulJob.
type MatmulConfig struct {
	Shape kernel.Shape
	// Ops are cycled through; empty means all three variants.
	Ops []kernel.Op
	// Limit stops the job after this many tasks (0: never).
	Limit int64
	// Seed seeds the operand generator.
	Seed uint64
	// OnDone, if set, is called with each verified result (tests use it).
	OnDone func(t *Task, c []float32)
}

// NewMatmulJob returns a job for cfg after validating it.
func NewMatmulJob(cfg MatmulConfig) (*MatmulJob, error) {
	if err := cfg.Shape.Validate(); err != nil {
		return nil, err
	}
	ops := cfg.Ops
	if len(ops) == 0 {
		ops = kernel.Ops
	}
	for _, o := range ops {
		if !o.Valid() {
			return nil, &kernelError{o}
		}
	}
	return &MatmulJob{
		shape:  cfg.Shape,
		ops:    ops,
		limit:  cfg.Limit,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x7e55e7a)),
		onDone: cfg.OnDone,
	}, nil
}

type kernelError struct{ op kernel.Op }

func (e *kernelError) Error() string { return "matmul job: unknown kernel " + e.op.String() }

// Name implements Source.
func (j *MatmulJob) Name() string { return "matmul" }

// Next implements Source: it generates up to n tasks with operands uniform
// in [-1, 1).
func (j *MatmulJob) Next(n int) []*Task {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.limit > 0 {
		n = int(min(int64(n), j.limit-j.issued))
	}
	if n <= 0 {
		return nil
	}
	tasks := make([]*Task, n)
	for i := range tasks {
		op := j.ops[j.nextOp%len(j.ops)]
		j.nextOp++
		tasks[i] = &Task{
			Op: op, Shape: j.shape, Job: j.Name(), Source: j,
			A: j.random(j.shape.ALen()),
			B: j.random(j.shape.BLen()),
		}
	}
	j.issued += int64(n)
	return tasks
}

func (j *MatmulJob) random(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*j.rng.Float32() - 1
	}
	return v
}

// Done implements Source.
func (j *MatmulJob) Done(t *Task, c []float32) {
	j.done.Add(1)
	if j.onDone != nil {
		j.onDone(t, c)
	}
}

// Completed returns how many of the job's tasks passed verification.
func (j *MatmulJob) Completed() int64 { return j.done.Load() }
