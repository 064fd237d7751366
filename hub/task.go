package hub

import (
	"time"

	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Task is one unit of work on the hub's queue: C = op(A)·op(B), or
// Shape.Batch such products stacked in A, B and C (attention's per-head
// products). A Task is immutable once queued; the scheduler tracks its
// leases separately.
type Task struct {
	// ID is unique for the hub's lifetime and names the task on the wire.
	ID    uint64
	Op    kernel.Op
	Shape kernel.Shape
	A, B  []float32
	// BDigest, when not zero, is digest.Of(B), given by a source whose B
	// never changes (a frozen model's weight tile), so that the hub need
	// not hash the same weights for every task that carries them.
	BDigest digest.D
	// ADigest, when not zero, is digest.Of(A), given by a source whose
	// tasks share one A (an input multiplied by several weight tiles), so
	// that the hub hashes it once instead of once per task.
	ADigest digest.D
	// Wire is the encoding the operands travel in. With bfloat16 the
	// source gives A and B already rounded to it (kernel.RoundBF16): the
	// hub verifies results against A and B as they are.
	Wire protocol.Encoding
	// Job names the job that produced the task: its Source's Name, which
	// the scheduler fills in when a source leaves it empty. Contributors
	// choose jobs by it (or by the job's name) and credit is recorded
	// per Job.
	Job string
	// Source receives the task's verified result.
	Source Source
	// Ref is the source's own bookkeeping for the task; the hub ignores it.
	Ref any
	// Ready is when the task became ready to lease. A source that holds
	// tasks before the hub takes them sets it; otherwise the hub sets it on
	// taking the task, and again whenever it requeues it. The lease wait
	// metric measures from it.
	Ready time.Time

	// Kept, when set, is weights a contributor keeps for the source
	// (resident.go): B is the kept matrix and is not sent, or, with
	// Update, the task updates it. Such a task goes only to the
	// connection keeping it.
	Kept *Kept
	// Update makes the task (one TN product, of the Kept's shape) an
	// update of Kept; its ids are the session's to fill in.
	Update protocol.Resident
	// Verify, when set, checks the result instead of Freivalds against A
	// and B (a Kept's tasks: the hub has no B). a and b are the operands as
	// sent; c is the result, of the task's result dimensions. Such a task
	// is neither blinded nor replicated.
	Verify func(a, b, c []float32) error

	// Set by the scheduler:
	key       string // unique across hub runs; names the task in the ledger
	group     *group // the replica group, when the task is executed twice
	exclude   string // an address that must never receive it (a replica's primary)
	excludeIP string // an address it should avoid where another is available
}

// FLOPs is the task's arithmetic, the unit of credit: 2·M·K·N for each
// product of a batch.
func (t *Task) FLOPs() int64 {
	return 2 * int64(t.Shape.Count()) * int64(t.Shape.M) * int64(t.Shape.K) * int64(t.Shape.N)
}

// replica returns a second execution of t, for a contributor other than
// the one holding t.
func (t *Task) replica(id uint64, holder, holderIP string) *Task {
	r := *t
	r.ID = id
	r.exclude, r.excludeIP = holder, holderIP
	return &r
}

// Source produces tasks and consumes their verified results. The built-in
// MatmulJob is one; training jobs are others. Next is called with the
// scheduler's lock held, so it must be quick and must not call into the
// hub; Done is called with no lock held, from any session's goroutine.
type Source interface {
	// Name identifies the source in status and logs, and is the Job of
	// its tasks: contributors choose the jobs they work for by it.
	Name() string
	// Next returns up to n new tasks, or none if the source has nothing to
	// hand out right now. IDs are assigned by the hub.
	Next(n int) []*Task
	// Done receives a task's result after it passed verification. c is
	// owned by the source from then on.
	Done(t *Task, c []float32)
}

// Splitter is implemented by sources whose tasks may carry several pieces
// of work that could also go out alone (an inference step's weight tiles
// joined into one task). A task that comes back unfinished (its holder
// left, its lease ran out, its result was refused) is queued again as its
// pieces, which more contributors may be allowed to take. The scheduler
// calls both methods with its lock held.
type Splitter interface {
	// Joined reports, cheaply, whether t carries several pieces.
	Joined(t *Task) bool
	// Split returns t's pieces as new tasks, or nil when t is one piece.
	Split(t *Task) []*Task
}

// Urgent is implemented by sources whose tasks go before every other
// task queued when Urgent returns true: inference, whose requests someone
// is waiting for, before training.
type Urgent interface {
	Urgent() bool
}

// Gate is implemented by sources whose tasks reveal something that must
// be rationed per contributor, such as a model's weights. The scheduler
// calls it with its lock held, so both methods must be quick.
type Gate interface {
	// Check reports whether the contributor at addr may receive t, and
	// whether doing so would reveal anything it has not received before.
	Check(addr string, t *Task) (allowed, reveals bool)
	// Grant records, durably, that addr receives t. It is called just
	// before the lease; an error cancels the lease.
	Grant(addr string, t *Task) error
}
