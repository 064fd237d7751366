package hub

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// hammerSource hands out a fixed number of tiny tasks and records every
// task it handed out and every result it received.
type hammerSource struct {
	name  string
	limit int

	mu     sync.Mutex
	issued []*Task
	done   map[*Task]int
}

func newHammerSource(name string, limit int) *hammerSource {
	return &hammerSource{name: name, limit: limit, done: make(map[*Task]int)}
}

func (s *hammerSource) Name() string { return s.name }

func (s *hammerSource) Next(n int) []*Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, s.limit-len(s.issued))
	ts := make([]*Task, n)
	for i := range ts {
		ts[i] = &Task{Op: kernel.MatMulNN, Shape: kernel.Shape{M: 1, K: 1, N: 1}, A: []float32{1}, B: []float32{1}, Job: s.name}
	}
	s.issued = append(s.issued, ts...)
	return ts
}

func (s *hammerSource) Done(t *Task, c []float32) {
	s.mu.Lock()
	s.done[t]++
	s.mu.Unlock()
}

func (s *hammerSource) completed(t *Task) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[t]
}

// gatedSource is a hammerSource whose tasks are rationed: some addresses
// may not receive some tasks, some tasks reveal something new, and every
// grantEvery-th grant fails.
type gatedSource struct {
	*hammerSource
	grants    atomic.Int64
	forbidden string // this address may not receive tasks with odd IDs
}

func (g *gatedSource) Check(addr string, t *Task) (allowed, reveals bool) {
	return addr != g.forbidden || t.ID%2 == 0, t.ID%3 == 0
}

const grantEvery = 37

func (g *gatedSource) Grant(addr string, t *Task) error {
	if g.grants.Add(1)%grantEvery == 0 {
		return errors.New("ledger unavailable")
	}
	return nil
}

// newFakeSession returns a session of contributor addr with no socket:
// tasks the scheduler hands it arrive on its send channel, of capacity
// sendCap.
func newFakeSession(h *Hub, addr string, sendCap int) *session {
	s := &session{
		h:      h,
		remote: "hammer",
		send:   make(chan outFrame, sendCap),
		done:   make(chan struct{}),
		who:    &contributor{address: addr},
	}
	s.writing.Store(true) // closeWith must not touch the (absent) socket
	return s
}

// checkScheduler checks, under the scheduler's lock, what must hold at any
// instant: no task is queued twice, queued and leased at once, or leased
// after its result was accepted; leases and seats agree.
func checkScheduler(tb testing.TB, s *scheduler, srcs []*hammerSource) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[*Task]string)
	for i, t := range s.queue {
		if where, dup := seen[t]; dup {
			tb.Fatalf("task %d is queued at %d and %s", t.ID, i, where)
		}
		seen[t] = fmt.Sprintf("queued at %d", i)
	}
	held := 0
	for sess, st := range s.sessions {
		for id, l := range st.held {
			if s.leases[id] != l || l.sess != sess {
				tb.Fatalf("seat holds lease %d that the lease table does not give it", id)
			}
		}
		held += len(st.held)
	}
	if held != len(s.leases) {
		tb.Fatalf("seats hold %d leases, the lease table has %d", held, len(s.leases))
	}
	for id, l := range s.leases {
		if l.task.ID != id {
			tb.Fatalf("lease %d is for task %d", id, l.task.ID)
		}
		if where, dup := seen[l.task]; dup {
			tb.Fatalf("task %d is leased and %s", id, where)
		}
		if _, ok := s.sessions[l.sess]; !ok {
			tb.Fatalf("task %d is leased to a session that left", id)
		}
		seen[l.task] = "leased"
	}
	for _, src := range srcs {
		src.mu.Lock()
		for t, n := range src.done {
			if where, ok := seen[t]; ok || n != 1 {
				src.mu.Unlock()
				tb.Fatalf("task %d completed %d times and is %s", t.ID, n, where)
			}
		}
		src.mu.Unlock()
	}
}

// TestSchedulerHammer runs many fake contributors against one scheduler
// at once: they join and leave, change capacity, complete, reject, drop
// and re-submit tasks, fall behind (and are dropped as slow), while the
// clock runs and leases expire. Afterwards every task any source handed
// out must be queued or completed exactly once, and a last contributor
// must be able to complete all of them.
func TestSchedulerHammer(t *testing.T) {
	const (
		workers    = 16
		sessionsPW = 20  // sessions per worker
		stepsPS    = 200 // steps per session
		lease      = time.Second
	)
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(lease)
	var clock atomic.Int64
	s.now = func() time.Time { return time.Unix(0, clock.Load()) }
	gated := &gatedSource{hammerSource: newHammerSource("gated", 20000), forbidden: "0xaddr0"}
	srcs := []*hammerSource{newHammerSource("plain", 5000), gated.hammerSource}
	s.addSource(srcs[0], true) // filler work, like the matmul job

	var (
		stop                  atomic.Bool
		rejected, stale, slow atomic.Int64
		wg, bg                sync.WaitGroup
	)
	// The clock and lease expiry.
	bg.Add(1)
	go func() {
		defer bg.Done()
		for !stop.Load() {
			clock.Add(int64(lease / 8))
			s.expire()
			runtime.Gosched()
		}
	}()
	// A checker of the instantaneous invariant.
	bg.Add(1)
	go func() {
		defer bg.Done()
		for !stop.Load() {
			checkScheduler(t, s, srcs)
			time.Sleep(time.Millisecond)
		}
	}()

	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			if w == workers/2 {
				s.addSource(gated, false) // a source arriving mid-run, ahead of the filler
			}
			for range sessionsPW {
				sendCap := 4 + sendQueue
				if rng.IntN(4) == 0 {
					sendCap = 1 // falls behind: dropped as slow
				}
				// Few addresses, many sessions: a contributor may hold
				// several connections, and failures are remembered per
				// address.
				sess := newFakeSession(h, fmt.Sprintf("0xaddr%d", rng.IntN(6)), sendCap)
				s.join(sess, 1+rng.IntN(4))
				var mine []*Task // tasks received and not yet answered
			steps:
				for range stepsPS {
					select {
					case <-sess.done:
						slow.Add(1)
						break steps
					case f := <-sess.send:
						mine = append(mine, f.lease.task)
					default:
					}
					switch r := rng.IntN(20); {
					case r < 10 && len(mine) > 0: // complete the oldest
						task := mine[0]
						mine = mine[1:]
						got, err := takeTask(s, sess, task.ID)
						if err != nil {
							stale.Add(1) // expired and given to another
							continue
						}
						if got != task {
							t.Errorf("take(%d) returned task %d", task.ID, got.ID)
						}
						got.Source.Done(got, nil)
						s.finish(sess, got, true)
						if _, err := takeTask(s, sess, task.ID); err == nil {
							t.Errorf("task %d taken twice", task.ID)
						}
					case r < 13 && len(mine) > 0: // reject
						task := mine[0]
						mine = mine[1:]
						if got, err := takeTask(s, sess, task.ID); err == nil {
							s.finish(sess, got, false)
							rejected.Add(1)
						}
					case r < 14 && len(mine) > 0: // drop it: the lease expires
						mine = mine[1:]
					case r < 15:
						s.setCapacity(sess, rng.IntN(5))
					case r < 16: // a result for a task that is not ours
						// It may hit one of the session's own leases; then the
						// result counts, and is refused.
						if got, err := takeTask(s, sess, uint64(rng.IntN(10000))); err == nil {
							s.finish(sess, got, false)
							rejected.Add(1)
						}
					default:
						runtime.Gosched()
					}
				}
				s.leave(sess)
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	bg.Wait()
	checkScheduler(t, s, srcs)

	s.fill() // drops the departed sessions from want
	cnt, queued, leased := s.snapshot()
	if leased != 0 || len(s.sessions) != 0 || len(s.want) != 0 {
		t.Fatalf("after every session left: %d leases, %d seats, %d wanting", leased, len(s.sessions), len(s.want))
	}
	issued, done := 0, 0
	for _, src := range srcs {
		for _, task := range src.issued {
			issued++
			switch n := src.completed(task); n {
			case 0:
			case 1:
				done++
			default:
				t.Errorf("task %d completed %d times", task.ID, n)
			}
		}
	}
	if uint64(done) != cnt.Completed {
		t.Errorf("sources saw %d results, the scheduler counted %d", done, cnt.Completed)
	}
	if lost := issued - done - queued; lost != 0 {
		t.Errorf("%d tasks issued, %d completed, %d queued: %d lost", issued, done, queued, lost)
	}
	t.Logf("issued %d, completed %d, rejected %d, stale results %d, expired %d, requeued %d, still queued %d; %d sessions dropped as slow, %d failed grants",
		issued, done, rejected.Load(), stale.Load(), cnt.Expired, cnt.Requeued, queued, slow.Load(), s.grantErrors)
	if slow.Load() == 0 || rejected.Load() == 0 || cnt.Expired == 0 || stale.Load() == 0 || s.grantErrors == 0 {
		t.Errorf("the hammer missed a path: want slow drops, rejections, expiries, stale results and failed grants")
	}

	// Drain: one last contributor completes everything left, including
	// what the sources have not handed out yet.
	last := newFakeSession(h, "0xdrain", 64+sendQueue)
	s.join(last, 64)
	for idle := 0; idle < 1000; {
		var f outFrame
		select {
		case f = <-last.send:
		default:
		}
		if f.lease == nil {
			// A failed grant leaves a task queued until the next fill.
			idle++
			s.fill()
			continue
		}
		idle = 0
		got, err := takeTask(s, last, f.lease.task.ID)
		if err != nil {
			t.Fatalf("drain: %v", err)
		}
		got.Source.Done(got, nil)
		s.finish(last, got, true)
	}
	s.leave(last)
	for _, src := range srcs {
		if len(src.issued) != src.limit {
			t.Errorf("source %s issued %d of %d tasks", src.name, len(src.issued), src.limit)
		}
		for _, task := range src.issued {
			if n := src.completed(task); n != 1 {
				t.Errorf("after draining, task %d of %s completed %d times, want once", task.ID, src.name, n)
			}
		}
	}
	if cnt, queued, leased := s.snapshot(); queued != 0 || leased != 0 || cnt.Completed != uint64(srcs[0].limit+srcs[1].limit) {
		t.Errorf("after draining: %d queued, %d leased, %d completed", queued, leased, cnt.Completed)
	}
}

// denyGate is an unlimited source whose tasks one address may never have.
type denyGate struct {
	*hammerSource
	denied string
}

func (g *denyGate) Check(addr string, t *Task) (allowed, reveals bool) {
	return addr != g.denied, false
}
func (g *denyGate) Grant(addr string, t *Task) error { return nil }

// TestSchedulerQueueBounded checks that a contributor who may take none of
// the queued tasks does not make the scheduler pull new tasks from the
// sources on every fill: the queue must stay bounded.
func TestSchedulerQueueBounded(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	s.addSource(&denyGate{hammerSource: newHammerSource("denied", 1<<30), denied: "0xdenied"}, false)
	sess := newFakeSession(h, "0xdenied", 8+sendQueue)
	s.join(sess, 1)
	for range 100 {
		s.fill()
	}
	if _, queued, _ := s.snapshot(); queued > maxScan+8 {
		t.Fatalf("%d tasks queued for a contributor who may take none; want at most %d", queued, maxScan+8)
	}
}

// TestRemoveSourceStopsLeasing checks that a removed source's tasks are
// not leased again when a lease held at removal comes back (expired,
// rejected, or its session left).
func TestRemoveSourceStopsLeasing(t *testing.T) {
	for _, how := range []string{"Rejected", "Expired", "Left"} {
		t.Run(how, func(t *testing.T) {
			h := &Hub{log: slog.New(slog.DiscardHandler)}
			s := newScheduler(time.Minute)
			var clock atomic.Int64
			s.now = func() time.Time { return time.Unix(0, clock.Load()) }
			src := newHammerSource("removed", 1)
			s.addSource(src, false)
			a := newFakeSession(h, "0xa", 8+sendQueue)
			s.join(a, 1)
			task := (<-a.send).lease.task
			s.removeSource(src)
			switch how {
			case "Rejected":
				got, err := takeTask(s, a, task.ID)
				if err != nil {
					t.Fatal(err)
				}
				s.finish(a, got, false)
			case "Expired":
				clock.Add(int64(2 * time.Minute))
				s.expire()
			case "Left":
				s.leave(a)
			}
			b := newFakeSession(h, "0xb", 8+sendQueue)
			s.join(b, 1)
			for _, sess := range []*session{a, b} {
				select {
				case f := <-sess.send:
					t.Fatalf("task %d of a removed source was leased again, to %s", f.lease.task.ID, sess.address())
				default:
				}
			}
			if c, _, _ := s.snapshot(); c.Dropped != 1 || c.Requeued != 0 {
				t.Fatalf("counters %+v: want the lease counted as dropped, not requeued", c)
			}
		})
	}
}

// takeTask is scheduler.take for tests that only need the task.
func takeTask(s *scheduler, sess *session, id uint64) (*Task, error) {
	l, err := s.take(sess, id)
	if err != nil {
		return nil, err
	}
	return l.task, nil
}

// TestFillSharesScarceTasks gives ten sessions that always want work one
// task at a time: the round-robin must share them, not favour the
// sessions at the front of the list.
func TestFillSharesScarceTasks(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	src := newHammerSource("scarce", 0)
	s.addSource(src, false)
	sessions := make([]*session, 10)
	got := map[*session]int{}
	for i := range sessions {
		sessions[i] = newFakeSession(h, fmt.Sprintf("0x%02x", i), 8+sendQueue)
		s.join(sessions[i], 1)
	}
	const rounds = 200
	for range rounds {
		src.mu.Lock()
		src.limit++ // one more task to hand out
		src.mu.Unlock()
		s.fill()
		leased := 0
		for _, sess := range sessions {
			select {
			case f := <-sess.send:
				leased++
				got[sess]++
				task, err := takeTask(s, sess, f.lease.task.ID)
				if err != nil {
					t.Fatal(err)
				}
				s.finish(sess, task, true)
			default:
			}
		}
		if leased != 1 {
			t.Fatalf("%d tasks leased for one available", leased)
		}
	}
	for i, sess := range sessions {
		if n := got[sess]; n < rounds/len(sessions)/2 {
			t.Errorf("session %d got %d of %d tasks (fair share %d)", i, n, rounds, rounds/len(sessions))
		}
	}
}

// TestReplicaMembersGoToDifferentAddresses: a task's two executions must
// come from two addresses however the leases move. A holds the primary, B
// the replica; A leaves, so the primary is requeued: B, with a free slot,
// must not get it (its two results would "agree" with themselves); a new
// contributor C does.
func TestReplicaMembersGoToDifferentAddresses(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	s.replication = func(string) float64 { return 1 }
	a := newFakeSession(h, "0xa", 8+sendQueue)
	b := newFakeSession(h, "0xb", 8+sendQueue)
	s.join(a, 1)
	s.join(b, 2)
	src := newHammerSource("one", 1)
	s.addSource(src, false)
	s.fill()
	next := func(sess *session) *Task {
		select {
		case f := <-sess.send:
			return f.lease.task
		default:
			return nil
		}
	}
	primary, replica := next(a), next(b)
	if primary == nil || replica == nil || primary.group == nil || replica.group != primary.group {
		t.Fatalf("primary %v to A, replica %v to B", primary, replica)
	}
	s.leave(a)
	s.fill()
	if got := next(b); got != nil {
		t.Fatalf("B, which holds the replica, was also given task %d", got.ID)
	}
	c := newFakeSession(h, "0xc", 8+sendQueue)
	s.join(c, 1)
	if got := next(c); got == nil || got.ID != primary.ID {
		t.Fatalf("C got %v, want the requeued primary %d", got, primary.ID)
	}
}

// TestReplicaNotStrandedByAvoidance: when the replica's lease expires at
// B and the only other contributor is A, who holds the primary (barred),
// the replica goes back to B rather than waiting for a third contributor.
func TestReplicaNotStrandedByAvoidance(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	var clock atomic.Int64
	s.now = func() time.Time { return time.Unix(0, clock.Load()) }
	s.replication = func(string) float64 { return 1 }
	a := newFakeSession(h, "0xa", 8+sendQueue)
	b := newFakeSession(h, "0xb", 8+sendQueue)
	s.join(a, 1)
	s.join(b, 1)
	s.addSource(newHammerSource("one", 1), false)
	s.fill()
	<-a.send
	replica := (<-b.send).lease.task
	clock.Add(int64(2 * time.Minute))
	s.expire() // B let the replica's lease run out; A still holds the primary
	s.fill()
	select {
	case f := <-b.send:
		if f.lease.task.ID != replica.ID {
			t.Fatalf("B got task %d, want the replica %d back", f.lease.task.ID, replica.ID)
		}
	default:
		t.Fatal("the replica is stranded: A is barred from it and B is avoided")
	}
}
