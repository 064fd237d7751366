package hub

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
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

// TestUnplaceableTasksGoBack: a queued task that no connected contributor
// of its job may take goes back to its source at the first expiry tick
// after it waited strandedAfter, and is gone from the queue; not before,
// not while one that may take it is connected (busy or not), not while
// nobody works for the job, and not to a source that does not compute.
// Hub.Placeable answers the same question for a task not yet queued.
func TestUnplaceableTasksGoBack(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	h.sched = s
	var clock time.Duration
	s.now = func() time.Time { return time.Unix(0, 0).Add(clock) }
	src := &fallbackSource{hammerSource: newHammerSource("job", 3), may: map[string]bool{"0xb": true}, computes: true}
	s.addSource(src, false)
	probe := &Task{Job: "job", Source: src}
	if !h.Placeable(probe) {
		t.Fatal("Placeable is false with nobody connected: the hub would train alone")
	}

	a := newFakeSession(h, "0xa", 8+sendQueue)
	s.join(a, 1)
	if len(a.send) != 0 || len(s.queue) != 3 {
		t.Fatalf("A got %d, %d queued: want all three queued, refused to A", len(a.send), len(s.queue))
	}
	if h.Placeable(probe) {
		t.Fatal("Placeable is true though the only contributor may not take it")
	}
	clock += strandedAfter / 2
	s.expire()
	if src.taken() != 0 {
		t.Fatal("taken back before it waited strandedAfter")
	}

	// B may take them, with one slot: two stay queued for it.
	b := newFakeSession(h, "0xb", 8+sendQueue)
	s.join(b, 1)
	<-b.send
	clock += strandedAfter
	s.expire()
	if src.taken() != 0 || len(s.queue) != 2 {
		t.Fatalf("%d taken back, %d queued, while B (busy) may take them", src.taken(), len(s.queue))
	}
	if !h.Placeable(probe) {
		t.Fatal("Placeable is false while B may take it")
	}

	// B leaves: nobody connected may take them.
	s.leave(b)
	requeued := len(s.queue)
	src.computes = false
	clock += strandedAfter
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
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	h.sched = s
	src := listingSource{&fallbackSource{hammerSource: newHammerSource("job", 1), may: map[string]bool{"0xtaker": true}, computes: true}}
	s.addSource(src, false)
	for i := range maxSeenStranded + 8 {
		s.join(newFakeSession(h, fmt.Sprintf("0x%03d", i), 8+sendQueue), 1)
	}
	probe := &Task{Job: "job", Source: src}
	if h.Placeable(probe) {
		t.Fatal("Placeable is true though none of the contributors connected may take it")
	}
	plain := &Task{Job: "job", Source: src.fallbackSource}
	if !h.Placeable(plain) {
		t.Fatal("without named takers, past the sample the scheduler should assume someone may")
	}
	s.join(newFakeSession(h, "0xtaker", 8+sendQueue), 1)
	if !h.Placeable(probe) {
		t.Fatal("Placeable is false while a named taker is connected")
	}
}
