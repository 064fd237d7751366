package hub

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// fallbackSource is a hammerSource whose tasks only the addresses in may
// receive, and which takes back (records) the tasks nobody may take when
// computes is set.
type fallbackSource struct {
	*hammerSource
	may      map[string]bool
	computes bool

	mu   sync.Mutex
	back []*Task
}

// Next stamps the tasks ready when they were made, as a trainer's
// executor does when it starts a batch (made: the zero clock).
func (f *fallbackSource) Next(n int) []*Task {
	ts := f.hammerSource.Next(n)
	for _, t := range ts {
		t.Ready = time.Unix(0, 0)
	}
	return ts
}

func (f *fallbackSource) Check(addr string, t *Task) (allowed, reveals bool) {
	return f.may[addr], true
}
func (f *fallbackSource) Grant(string, *Task) error { return nil }
func (f *fallbackSource) ComputesHere() bool        { return f.computes }
func (f *fallbackSource) ComputeHere(t *Task) {
	f.mu.Lock()
	f.back = append(f.back, t)
	f.mu.Unlock()
}

func (f *fallbackSource) taken() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.back)
}

// fallbackHub returns a hub whose scheduler runs on a clock the test
// moves (advance), for the tests of fallback.go.
func fallbackHub() (h *Hub, s *scheduler, advance func(time.Duration)) {
	h = &Hub{log: slog.New(slog.DiscardHandler)}
	s = newScheduler(time.Minute)
	h.sched = s
	var clock time.Duration
	s.now = func() time.Time { return time.Unix(0, 0).Add(clock) }
	return h, s, func(d time.Duration) { clock += d }
}

// placeable reports whether h.Placeable queues t.
func placeable(h *Hub, t *Task) bool {
	queue, _ := h.Placeable([]*Task{t})
	return len(queue) == 1
}

// TestUnplaceableTasksGoBack: a queued task that no connected contributor
// of its job may take goes back to its source at the first expiry tick
// after it waited strandedAfter, and is gone from the queue; not before,
// not while one that may take it is connected (busy or not), not while
// nobody works for the job, and not to a source that does not compute.
// Hub.Placeable answers the same question for a task not yet queued.
func TestUnplaceableTasksGoBack(t *testing.T) {
	h, s, advance := fallbackHub()
	src := &fallbackSource{hammerSource: newHammerSource("job", 3), may: map[string]bool{"0xb": true}, computes: true}
	s.addSource(src, false)
	probe := &Task{Job: "job", Source: src}
	if !placeable(h, probe) {
		t.Fatal("Placeable is false with nobody connected: the hub would train alone")
	}

	a := newFakeSession(h, "0xa", 8+sendQueue)
	s.join(a, 1)
	if len(a.send) != 0 || len(s.queue) != 3 {
		t.Fatalf("A got %d, %d queued: want all three queued, refused to A", len(a.send), len(s.queue))
	}
	if placeable(h, probe) {
		t.Fatal("Placeable is true though the only contributor may not take it")
	}
	advance(strandedAfter / 2)
	s.expire()
	if src.taken() != 0 {
		t.Fatal("taken back before it waited strandedAfter")
	}

	// B may take them, with one slot: two stay queued for it.
	b := newFakeSession(h, "0xb", 8+sendQueue)
	s.join(b, 1)
	<-b.send
	advance(strandedAfter)
	s.expire()
	if src.taken() != 0 || len(s.queue) != 2 {
		t.Fatalf("%d taken back, %d queued, while B (busy) may take them", src.taken(), len(s.queue))
	}
	if !placeable(h, probe) {
		t.Fatal("Placeable is false while B may take it")
	}

	// B leaves: nobody connected may take them.
	s.leave(b)
	requeued := len(s.queue)
	src.computes = false
	advance(strandedAfter)
	s.expire()
	if src.taken() != 0 {
		t.Fatal("taken back by a source that does not compute")
	}
	src.computes = true
	s.expire()
	if src.taken() != requeued || len(s.queue) != 0 {
		t.Fatalf("%d taken back, %d queued: want all %d back", src.taken(), len(s.queue), requeued)
	}
	if c, _, _ := s.snapshot(); c.ComputedHere != uint64(requeued)+1 {
		t.Errorf("ComputedHere = %d, want %d (and Placeable's)", c.ComputedHere, requeued+1)
	}
}

// listingSource is a fallbackSource that names its takers: the addresses
// in may.
type listingSource struct{ *fallbackSource }

func (l listingSource) Takers(*Task) ([]string, bool) {
	var out []string
	for a, ok := range l.may {
		if ok {
			out = append(out, a)
		}
	}
	return out, false
}

// TestUnplaceableAmongManyContributors: with more contributors connected
// than the scheduler samples, none of which may take a task, the task
// still goes back to a source that names its takers (before, the sample
// ran out and the task waited for good); and it stays while a named taker
// is connected.
func TestUnplaceableAmongManyContributors(t *testing.T) {
	h, s, _ := fallbackHub()
	src := listingSource{&fallbackSource{hammerSource: newHammerSource("job", 1), may: map[string]bool{"0xtaker": true}, computes: true}}
	s.addSource(src, false)
	for i := range maxSeenStranded + 8 {
		s.join(newFakeSession(h, fmt.Sprintf("0x%03d", i), 8+sendQueue), 1)
	}
	probe := &Task{Job: "job", Source: src}
	if placeable(h, probe) {
		t.Fatal("Placeable is true though none of the contributors connected may take it")
	}
	plain := &Task{Job: "job", Source: src.fallbackSource}
	if !placeable(h, plain) {
		t.Fatal("without named takers, past the sample the scheduler should assume someone may")
	}
	s.join(newFakeSession(h, "0xtaker", 8+sendQueue), 1)
	if !placeable(h, probe) {
		t.Fatal("Placeable is false while a named taker is connected")
	}
}

// TestUnplaceableTasksNotYetPulled: a source holding more tasks than a
// fill pulls, none of which the one contributor connected may take, gets
// them all back at the next tick, those it had not yet handed out
// included.
func TestUnplaceableTasksNotYetPulled(t *testing.T) {
	h, s, advance := fallbackHub()
	src := &fallbackSource{hammerSource: newHammerSource("job", 20), may: map[string]bool{}, computes: true}
	s.addSource(src, false)
	s.join(newFakeSession(h, "0xa", 8+sendQueue), 1)
	if len(s.queue) >= 20 {
		t.Fatalf("%d queued: the test wants tasks left in the source", len(s.queue))
	}
	advance(strandedAfter)
	s.expire()
	if src.taken() != 20 || len(s.queue) != 0 {
		t.Fatalf("%d of 20 taken back, %d queued", src.taken(), len(s.queue))
	}
}

// keptSource hands out one task of the kept matrix k.
type keptSource struct {
	*hammerSource
	k *Kept
}

func (s *keptSource) Next(n int) []*Task {
	ts := s.hammerSource.Next(n)
	for _, t := range ts {
		t.Op, t.Shape, t.A, t.B, t.Kept = kernel.MatMulNN, kernel.Shape{M: 1, K: 2, N: 2}, []float32{1, 2}, nil, s.k
	}
	return ts
}

// TestKeptLeaseDroppedWhenItsHolderLeaves: a lease of kept weights whose
// connection leaves is neither completed nor requeued (its task fails to
// its source, which recovers the weights): the hub counts it dropped, so
// that every lease is accounted for.
func TestKeptLeaseDroppedWhenItsHolderLeaves(t *testing.T) {
	h, s, _ := fallbackHub()
	a := newFakeSession(h, "0xa", 8+sendQueue)
	a.trusted = true
	a.kept = newOpCache(1<<20, rand.New(rand.NewPCG(1, 2)))
	k := &Kept{Rows: 2, Cols: 2, W: make([]float32, 4), V: make([]float32, 4)}
	s.addSource(&keptSource{hammerSource: newHammerSource("job", 1), k: k}, false)
	s.join(a, 1)
	if c, _, inFlight := s.snapshot(); c.Leased != 1 || inFlight != 1 {
		t.Fatalf("%d leased, %d in flight: want the kept task leased to A", c.Leased, inFlight)
	}
	s.leave(a)
	c, _, inFlight := s.snapshot()
	if inFlight != 0 || c.Dropped != 1 || c.Requeued != 0 {
		t.Errorf("after A left: %d in flight, %d dropped, %d requeued; want 0, 1, 0", inFlight, c.Dropped, c.Requeued)
	}
}
