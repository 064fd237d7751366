// Package tile defines the unit of distributed work of a training step, a
// matmul Tile, and the Executor interface that computes groups of them:
// contributors through the hub's task queue (hub/train's Remote) or this
// process (Local, the reference executor). Models (hub/train's MLP,
// hub/lm's transformer) express every matmul of a step as tiles, so the
// local reference and the distributed run share one code path.
package tile

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/digest"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// errResidentLocal refuses a resident tile on Local, which keeps nothing.
var errResidentLocal = errors.New("tile: a tile of resident weights runs only on contributors that keep them")

// Tile is one matmul of a training step: C = op(A)·op(B). A and B are
// never modified once the tile is started, so an executor may send them
// anywhere; C is written by the executor.
type Tile struct {
	Op    kernel.Op
	Shape kernel.Shape
	A, B  []float32
	C     []float32
	// BDigest, when not zero, is digest.Of(B), which the caller promises
	// never changes (a frozen model's weights): hub.Task.BDigest.
	BDigest digest.D
	// Weight is the index of the weight tile this task reveals to whoever
	// computes it, or -1 when it reveals no weights (weight gradients).
	Weight int
	// Resident, when set, ties the tile to weights a contributor keeps
	// (package hub's resident weights): only the Remote executor runs it.
	Resident *Resident
	// Err is why the tile failed, set by the executor before its batch
	// learns of it (nil when it did not).
	Err error
}

// Resident is a tile's part in resident weights. With Update.Mode unset the
// tile's B is Kept's matrix, which the tile does not hold (B is empty);
// with it set, the tile (a TN product, Kept's shape) is Kept's gradient,
// applied by the contributor, and C receives nothing: what the update
// returns goes to Verify.
type Resident struct {
	Kept   *hub.Kept
	Update protocol.Resident
	// Reveals lists the weight tiles Kept holds (a whole layer may hold
	// several), which the task reveals to whoever keeps it; Tile.Weight
	// is then -1.
	Reveals []int
	// Verify checks the result (hub.Task.Verify): a and b are the operands
	// as sent, c the result.
	Verify func(a, b, c []float32) error
}

// Executor computes tiles. Start returns at once; the Batch reports when
// every tile of it has its C.
type Executor interface {
	Start(ctx context.Context, tiles []*Tile) *Batch
}

// Batch is a group of tiles in progress.
type Batch struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	done chan struct{}
	// blocked, if set, accumulates the nanoseconds callers spend in Wait.
	blocked *atomic.Int64
}

// NewBatch returns a batch expecting n completions.
func NewBatch(n int) *Batch {
	b := &Batch{done: make(chan struct{})}
	b.wg.Add(n)
	go func() { b.wg.Wait(); close(b.done) }()
	return b
}

// Complete records one tile as done, with err if it failed.
func (b *Batch) Complete(err error) {
	if err != nil {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	b.wg.Done()
}

// Wait blocks until every tile is done or ctx ends.
func (b *Batch) Wait(ctx context.Context) error {
	if b.blocked != nil {
		start := time.Now()
		defer func() { b.blocked.Add(int64(time.Since(start))) }()
	}
	select {
	case <-b.done:
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Timed returns an executor that starts tiles on exec and adds the time
// callers spend blocked in its batches' Wait to blocked: a step's time
// minus that is the time the caller (the hub) computed itself.
func Timed(exec Executor, blocked *atomic.Int64) Executor { return timed{exec, blocked} }

type timed struct {
	exec    Executor
	blocked *atomic.Int64
}

func (t timed) Start(ctx context.Context, tiles []*Tile) *Batch {
	b := t.exec.Start(ctx, tiles)
	b.blocked = t.blocked
	return b
}

// Local computes tiles in-process with the CPU reference kernels, on up to
// GOMAXPROCS goroutines. It is the reference trainer's executor and the
// baseline of the decentralisation benchmark.
type Local struct {
	sem chan struct{}
}

// NewLocal returns a Local executor using up to workers goroutines
// (GOMAXPROCS when workers < 1).
func NewLocal(workers int) *Local {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Local{sem: make(chan struct{}, workers)}
}

// Start implements Executor.
func (l *Local) Start(ctx context.Context, tiles []*Tile) *Batch {
	b := NewBatch(len(tiles))
	for _, t := range tiles {
		if t.Resident != nil {
			t.Err = errResidentLocal
			b.Complete(errResidentLocal)
			continue
		}
		go func() {
			select {
			case l.sem <- struct{}{}:
			case <-ctx.Done():
				t.Err = ctx.Err()
				b.Complete(ctx.Err())
				return
			}
			err := kernel.Reference(t.Op, t.Shape, t.A, t.B, t.C)
			<-l.sem
			t.Err = err
			b.Complete(err)
		}()
	}
	return b
}
