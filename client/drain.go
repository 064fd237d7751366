package client

import (
	"context"
	"errors"
	"sync"
	"time"
)

// drainQuiet is how long a draining session that holds no task waits for
// one the hub may have leased just before it read the client's Capacity 0.
// It only matters when the drain starts with nothing in hand; otherwise
// the verdict on a result sent after Capacity 0 proves that nothing more
// is on the way (see leases).
const drainQuiet = 500 * time.Millisecond

// errDrained ends a session whose drain completed.
var errDrained = errors.New("drained: every leased task finished")

// Drain asks a running client to stop gracefully: it tells the hub it
// holds no more slots (protocol.Capacity 0), finishes the tasks it already
// holds, sends their results and waits for their verdicts, then closes the
// connection and Run returns nil. A client between connections stops at
// once. Cancel Run's context to stop without finishing. Drain does not
// wait and may be called any number of times.
func (c *Client) Drain() {
	c.drainOnce.Do(func() { close(c.drain) })
}

func (c *Client) draining() bool {
	select {
	case <-c.drain:
		return true
	default:
		return false
	}
}

// leases tracks one session's tasks from arrival to verdict, so that a
// draining session knows when it holds nothing and nothing is on the way.
//
// The hub reads a connection's frames in order and leases under one lock,
// so once it has read Capacity 0 it leases nothing more to the session,
// and every task leased before is already queued to the session's writer.
// A verdict on a result the client sent after Capacity 0 is queued later
// still, so when it arrives every task leased to the client has arrived
// too: the session is fenced.
type leases struct {
	mu       sync.Mutex
	flops    map[uint64]float64 // held tasks: ID → FLOPs, until the verdict
	capZero  time.Time          // when Capacity 0 was sent; zero before
	after    map[uint64]bool    // results sent after Capacity 0
	fenced   bool
	changed  chan struct{} // poked (never blocking) on every change
	onChange func(held int)
}

func newLeases(onChange func(held int)) *leases {
	return &leases{flops: map[uint64]float64{}, after: map[uint64]bool{}, changed: make(chan struct{}, 1), onChange: onChange}
}

// unlockAndPoke releases l.mu, then wakes the drain watcher and reports
// the number of held tasks (outside the lock: onChange takes the client's).
func (l *leases) unlockAndPoke() {
	n := len(l.flops)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	l.onChange(n)
}

// received records a task that arrived.
func (l *leases) received(id uint64, flops float64) {
	l.mu.Lock()
	l.flops[id] = flops
	l.unlockAndPoke()
}

// capacityZero records that Capacity 0 has just been written.
func (l *leases) capacityZero(now time.Time) {
	l.mu.Lock()
	l.capZero = now
	l.unlockAndPoke()
}

// sending records that the result of task id is about to be written. It
// is called before the write so that the verdict cannot overtake it.
func (l *leases) sending(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.capZero.IsZero() {
		l.after[id] = true
	}
}

// verdict records the hub's verdict on task id and returns the task's
// FLOPs.
func (l *leases) verdict(id uint64) float64 {
	l.mu.Lock()
	f := l.flops[id]
	delete(l.flops, id)
	if l.after[id] {
		l.fenced = true
		delete(l.after, id)
	}
	l.unlockAndPoke()
	return f
}

// drained reports whether the drain is complete at now; if not and the
// only thing left is the quiet period, wait says how long it still runs.
func (l *leases) drained(now time.Time) (done bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capZero.IsZero() || len(l.flops) > 0 {
		return false, 0
	}
	if l.fenced {
		return true, 0
	}
	left := drainQuiet - now.Sub(l.capZero)
	return left <= 0, left
}

// watchDrain waits for Drain, then for the session's leases to be done,
// and ends the session with errDrained.
func (c *Client) watchDrain(ctx context.Context, ls *leases, fail func(error)) {
	select {
	case <-c.drain:
	case <-ctx.Done():
		return
	}
	for {
		done, wait := ls.drained(time.Now())
		if done {
			fail(errDrained)
			return
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = time.After(wait)
		}
		select {
		case <-ls.changed:
		case <-timer:
		case <-ctx.Done():
			return
		}
	}
}
