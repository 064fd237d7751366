package hub

import "github.com/tessera-ai/tessera/internal/kernel"

// Task is one unit of work on the hub's queue: C = op(A)·op(B). A Task is
// immutable once queued; the scheduler tracks its leases separately.
type Task struct {
	// ID is unique for the hub's lifetime and names the task on the wire.
	ID    uint64
	Op    kernel.Op
	Shape kernel.Shape
	A, B  []float32
	// Job names the source that produced the task.
	Job string
	// Source receives the task's verified result.
	Source Source
}

// Source produces tasks and consumes their verified results. The built-in
// MatmulJob is one; training jobs are others. Next is called with the
// scheduler's lock held, so it must be quick and must not call into the
// hub; Done is called with no lock held, from any session's goroutine.
type Source interface {
	// Name identifies the source in status and logs.
	Name() string
	// Next returns up to n new tasks, or none if the source has nothing to
	// hand out right now. IDs are assigned by the hub.
	Next(n int) []*Task
	// Done receives a task's result after it passed verification. c is
	// owned by the source from then on.
	Done(t *Task, c []float32)
}
