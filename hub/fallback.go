package hub

import (
	"slices"
	"time"
)

// Tasks nobody connected may take. A gated task (a weight tile under a
// job's exposure cap) can be refused by every contributor connected: each
// has spent its cap on other tiles, or the job lets ordinary contributors
// see weights only as blocks they keep. The scheduler gates one task at a
// time and does not plan the cap across contributors, so such a task
// would wait for a newcomer, and the step with it; with three
// contributors under a cap of 0.3 that newcomer must exist before the
// model can be covered at all. A source that can compute its own tasks
// (a trainer, on the hub's CPU: it holds the weights) implements Fallback,
// and gets back the tasks that no connected contributor of their job may
// take: when it queues them (Hub.Placeable) and, for a task that became
// so while it waited (a contributor left, or spent its cap), at the
// expiry tick after it has waited strandedAfter. A job nobody works for
// waits, as before: the hub does not train alone.

// Fallback is implemented by gated sources that can compute a task
// themselves when no connected contributor may take it.
type Fallback interface {
	// ComputesHere reports whether the source takes its tasks back.
	ComputesHere() bool
	// ComputeHere gives t back to its source, which computes it and
	// completes it itself: the task is out of the scheduler for good (no
	// result, no credit). It is called with no lock of the hub held and
	// must not block.
	ComputeHere(t *Task)
}

func computesHere(src Source) (Fallback, bool) {
	f, ok := src.(Fallback)
	return f, ok && f.ComputesHere()
}

// Placeable splits ts, tasks of one gated source not yet queued, into
// those to queue and those its source is to compute itself: the latter
// only when some connected contributor works for a task's job and none of
// them may take it. Sources call it, once for a batch, before queuing.
func (h *Hub) Placeable(ts []*Task) (queue, here []*Task) {
	if len(ts) == 0 {
		return ts, nil
	}
	g, gated := ts[0].Source.(Gate)
	if _, ok := computesHere(ts[0].Source); !ok || !gated {
		return ts, nil
	}
	s := h.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range ts {
		if t.Kept == nil {
			if works, may := s.takerLocked(t, g); works && !may {
				s.counters.ComputedHere++
				here = append(here, t)
				continue
			}
		}
		queue = append(queue, t)
	}
	return queue, here
}

// Takers is implemented by gated sources that can name, cheaply, every
// address that may take a task (a job whose weights reach ordinary
// contributors only as blocks: its own workers, and those that received
// the task's weights before). The scheduler then asks about those
// addresses only, however many contributors are connected, instead of
// about a sample of them.
type Takers interface {
	// Takers returns the only addresses that may take t, or all = true
	// when any address might.
	Takers(t *Task) (addrs []string, all bool)
}

// takerLocked reports whether a connected contributor works for t's job
// (works), and whether one that does may take t under g (may). Unless
// t's source names its takers, it looks at most at maxVisited connections,
// maxSeenStranded of them working for the job, and past that answers that
// one may: the hub computes a task only when it is sure nobody can.
func (s *scheduler) takerLocked(t *Task, g Gate) (works, may bool) {
	if tk, ok := t.Source.(Takers); ok {
		if addrs, all := tk.Takers(t); !all {
			return s.takerAmongLocked(t, g, addrs)
		}
	}
	seen, visited := 0, 0
	for sess, st := range s.sessions {
		if visited++; visited > maxVisited {
			return true, true
		}
		if !takingLocked(sess, st, t.Job) {
			continue
		}
		works = true
		if seen++; seen > maxSeenStranded {
			return true, true
		}
		if !sess.runs(t.Op) {
			continue
		}
		if ok, _ := g.Check(sess.address(), t); ok {
			return true, true
		}
	}
	return works, false
}

// takerAmongLocked is takerLocked when only the connections of addrs may
// take t.
func (s *scheduler) takerAmongLocked(t *Task, g Gate, addrs []string) (works, may bool) {
	for _, a := range addrs {
		for _, sess := range s.byAddr[a] {
			if st := s.sessions[sess]; st == nil || !takingLocked(sess, st, t.Job) {
				continue
			}
			works = true
			if ok, _ := g.Check(a, t); ok && sess.runs(t.Op) {
				return true, true
			}
		}
	}
	if !works {
		visited := 0
		for sess, st := range s.sessions {
			if visited++; visited > maxVisited {
				return false, false // as if nobody worked for it: the task waits
			}
			if takingLocked(sess, st, t.Job) {
				return true, false
			}
		}
	}
	return works, false
}

// maxVisited bounds the connections one question about a task looks at,
// those that do not work for its job included.
const maxVisited = 4 * maxSeenStranded

// unplaceableLocked removes from the queue, and returns, each task of a
// Fallback source that has waited at least strandedAfter and that no
// connected contributor of its job may take, while one works for it. A
// replica (grouped) or a task of kept weights is never taken back: the
// first compares results, the second has its own way out (Strand). A
// source that had such a task may hold more like it that no fill has
// pulled yet (a fill pulls 8 at a time): up to maxPlaceChecks of them are
// pulled and asked about too. At most maxPlaceChecks tasks are asked
// about per tick.
func (s *scheduler) unplaceableLocked(now time.Time) []*Task {
	var back []*Task
	from := map[Source]bool{}
	checks := 0
	unplaceable := func(t *Task) bool {
		if checks >= maxPlaceChecks || now.Sub(t.Ready) < strandedAfter || t.group != nil || t.Kept != nil {
			return false
		}
		g, gated := t.Source.(Gate)
		if _, ok := computesHere(t.Source); !ok || !gated {
			return false
		}
		checks++
		if works, may := s.takerLocked(t, g); !works || may {
			return false
		}
		delete(s.avoid, t.ID)
		s.counters.ComputedHere++
		back = append(back, t)
		from[t.Source] = true
		return true
	}
	kept := s.queue[:0]
	for _, t := range s.queue {
		if !unplaceable(t) {
			kept = append(kept, t)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	pulled := 0
	for src := range from {
		for checks < maxPlaceChecks && pulled < maxPlaceChecks {
			ts := src.Next(8)
			pulled += len(ts)
			if len(ts) == 0 {
				break
			}
			s.admitLocked(src, ts)
			var placeable []*Task
			for _, t := range ts {
				if !unplaceable(t) {
					placeable = append(placeable, t)
				}
			}
			s.enqueueLocked(src, placeable)
		}
	}
	return back
}

// enqueueLocked queues tasks just pulled from src where a fill would:
// an urgent source's after the urgent tasks already queued, any other's
// at the end.
func (s *scheduler) enqueueLocked(src Source, ts []*Task) {
	if !isUrgent(src) {
		s.queue = append(s.queue, ts...)
		return
	}
	at := 0
	for at < len(s.queue) && isUrgent(s.queue[at].Source) {
		at++
	}
	s.queue = slices.Insert(s.queue, at, ts...)
}

// maxPlaceChecks bounds the tasks unplaceableLocked asks about in one
// expiry tick: each question may cost maxSeenStranded gate checks under
// the scheduler's lock, and a queue of tasks that wait only for busy
// contributors is asked about again at every tick.
const maxPlaceChecks = 256

// giveBack hands tasks taken out of the queue to their sources.
func giveBack(ts []*Task) {
	for _, t := range ts {
		if f, ok := computesHere(t.Source); ok {
			f.ComputeHere(t)
		}
	}
}
