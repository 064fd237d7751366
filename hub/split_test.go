package hub

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// splitSource hands out one task joining pieces pieces; Split cuts it.
type splitSource struct {
	*hammerSource
	pieces int
	split  int // calls of Split that cut
}

func (s *splitSource) Next(n int) []*Task {
	ts := s.hammerSource.Next(n)
	for _, t := range ts {
		t.Shape.N, t.B = s.pieces, make([]float32, s.pieces)
	}
	return ts
}

func (s *splitSource) Joined(t *Task) bool { return t.Shape.N > 1 }

func (s *splitSource) Split(t *Task) []*Task {
	if t.Shape.N < 2 {
		return nil
	}
	s.split++
	var parts []*Task
	for range t.Shape.N {
		parts = append(parts, &Task{Op: kernel.MatMulNN, Shape: kernel.Shape{M: 1, K: 1, N: 1}, A: []float32{1}, B: []float32{1}, Job: t.Job})
	}
	return parts
}

// splitSetup returns a scheduler with replication share rep, sessions
// of the given addresses (one slot each) joined, and a source of tasks
// tasks joining pieces pieces, filled once.
func splitSetup(rep float64, tasks, pieces int, addrs ...string) (*scheduler, *splitSource, []*session) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	if rep > 0 {
		s.replication = func(string) float64 { return rep }
	}
	var sess []*session
	for _, a := range addrs {
		f := newFakeSession(h, a, 8+sendQueue)
		s.join(f, 1)
		sess = append(sess, f)
	}
	src := &splitSource{hammerSource: newHammerSource("lm", tasks), pieces: pieces}
	s.addSource(src, false)
	s.fill()
	return s, src, sess
}

// TestRequeuedTaskIsSplit: a joined task refused at A comes back as its
// pieces, each avoiding A, and they go to B; one whose holder left is
// split too; a replicated one is requeued whole (its pair compares whole
// results).
func TestRequeuedTaskIsSplit(t *testing.T) {
	s, src, sess := splitSetup(0, 2, 3, "0xa")
	a := sess[0]
	joined := (<-a.send).lease.task
	if joined.Shape.N != 3 {
		t.Fatalf("A got %v, want the joined task", joined.Shape)
	}
	b := newFakeSession(a.h, "0xb", 8+sendQueue)
	s.join(b, 8)
	got := []*Task{(<-b.send).lease.task} // the source's second task
	s.finish(a, joined, false)
	for len(got) < 4 {
		select {
		case f := <-b.send:
			got = append(got, f.lease.task)
		default:
			t.Fatalf("B got %d tasks, want the other task and the 3 pieces", len(got))
		}
	}
	pieces := 0
	for _, p := range got {
		if p.Shape.N == 1 {
			pieces++
			if !slices.Equal(s.avoid[p.ID], []string{"0xa"}) {
				t.Errorf("piece %d avoids %v, want A", p.ID, s.avoid[p.ID])
			}
		}
	}
	if pieces != 3 || src.split != 1 {
		t.Fatalf("%d pieces leased, %d splits", pieces, src.split)
	}
	if _, left := s.avoid[joined.ID]; left {
		t.Error("the joined task's avoid list outlived it")
	}

	// A holder that leaves: its joined task comes back as pieces.
	s2, src2, sess2 := splitSetup(0, 1, 2, "0xc")
	<-sess2[0].send
	s2.leave(sess2[0])
	if src2.split != 1 || len(s2.queue) != 2 {
		t.Fatalf("after the holder left: %d splits, %d queued, want 1 and 2", src2.split, len(s2.queue))
	}

	// A replicated joined task is requeued whole.
	s3, src3, sess3 := splitSetup(1, 1, 2, "0xd", "0xe")
	primary := (<-sess3[0].send).lease.task
	<-sess3[1].send
	s3.finish(sess3[0], primary, false)
	if src3.split != 0 {
		t.Errorf("a replicated task was split")
	}
}

// gatedSplitSource is a splitSource whose joined tasks only the addresses
// in joiners may take; anyone may take a piece.
type gatedSplitSource struct {
	*splitSource
	joiners map[string]bool
}

func (g *gatedSplitSource) Check(addr string, t *Task) (allowed, reveals bool) {
	return t.Shape.N < 2 || g.joiners[addr], true
}

func (g *gatedSplitSource) Grant(string, *Task) error { return nil }

// TestStrandedJoinedTaskIsSplit: a queued joined task that no connected
// contributor may take any more (the cap changed its mind after the group
// was made) goes out as its pieces at the next expiry tick past
// strandedAfter; one that somebody connected may take, busy or not, stays
// whole, and so does a fresh one.
func TestStrandedJoinedTaskIsSplit(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	var clock time.Duration
	s.now = func() time.Time { return time.Unix(0, 0).Add(clock) }
	a := newFakeSession(h, "0xa", 8+sendQueue)
	b := newFakeSession(h, "0xb", 8+sendQueue)
	s.join(a, 1)
	s.join(b, 1)
	src := &gatedSplitSource{splitSource: &splitSource{hammerSource: newHammerSource("lm", 2), pieces: 3}, joiners: map[string]bool{"0xa": true}}
	s.addSource(src, false)
	if got := (<-a.send).lease.task; got.Shape.N != 3 {
		t.Fatalf("A got %v, want a joined task", got.Shape)
	}
	if len(b.send) != 0 || len(s.queue) != 1 {
		t.Fatalf("B holds %d, %d queued: want the second joined task queued for A", len(b.send), len(s.queue))
	}
	delete(src.joiners, "0xa") // nobody may take it now
	clock += strandedAfter / 2
	s.expire()
	if src.split != 0 {
		t.Fatal("split before it waited strandedAfter")
	}
	src.joiners["0xa"] = true
	clock += strandedAfter
	s.expire()
	if src.split != 0 || len(b.send) != 0 {
		t.Fatalf("split %d times while A (busy) may take it", src.split)
	}

	delete(src.joiners, "0xa")
	c := newFakeSession(h, "0xc", 8+sendQueue)
	s.join(c, 4)
	clock += strandedAfter
	s.expire()
	if src.split != 1 {
		t.Fatalf("%d splits, want the stranded task split", src.split)
	}
	got := 0
	for _, sess := range []*session{b, c} {
		for len(sess.send) > 0 {
			if p := (<-sess.send).lease.task; p.Shape.N != 1 {
				t.Fatalf("%s got %v, want a piece", sess.address(), p.Shape)
			}
			got++
		}
	}
	if got != 3 || len(s.queue) != 0 {
		t.Fatalf("%d pieces leased, %d queued: want all 3 leased", got, len(s.queue))
	}
}
