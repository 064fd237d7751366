package hub

import (
	"slices"
	"time"
)

// Stranded joined tasks. A source that joins pieces of work into one task
// (a Splitter: an inference step's weight tiles) chooses each group for
// the contributors connected when it makes it, but the exposure cap can
// change its mind before the task is leased: the contributor it was meant
// for may receive other tiles first (another group, another lane's step),
// or leave. No lease then ends without a result, so requeueLocked never
// splits it, and the task would wait in the queue for a contributor that
// cannot exist while its pieces alone would be taken at once. Every
// expiry tick, splitStrandedLocked looks at the splittable tasks that have
// waited at least strandedAfter and queues again, as its pieces, each
// joined one (Splitter.Joined, a cheap test made first) that no connected
// contributor of its job may take now.

// strandedAfter is how long a splittable task waits in the queue before
// the scheduler asks whether anyone may take it: a fresh one is usually
// leased within a fill, and the question costs a pass over the sessions.
const strandedAfter = 100 * time.Millisecond

// splitLocked returns t's pieces, named and ready, with t's avoid list
// copied to each, or nil when t is not to be split (not a Splitter's, one
// piece, or replicated: a replica pair compares whole results).
func (s *scheduler) splitLocked(t *Task) []*Task {
	sp, ok := t.Source.(Splitter)
	if !ok || t.group != nil {
		return nil
	}
	parts := sp.Split(t)
	if len(parts) < 2 {
		return nil
	}
	s.admitLocked(t.Source, parts)
	bad := s.avoid[t.ID]
	delete(s.avoid, t.ID)
	for _, p := range parts {
		p.Ready = t.Ready
		if len(bad) > 0 {
			s.avoid[p.ID] = slices.Clone(bad)
		}
	}
	return parts
}

// splitStrandedLocked replaces, in place, each queued task of a gated
// Splitter that has waited at least strandedAfter and that no connected
// contributor may take (someoneMayTakeLocked) by its pieces. It returns
// how many tasks it split.
func (s *scheduler) splitStrandedLocked(now time.Time) int {
	n := 0
	for i := 0; i < len(s.queue); i++ {
		t := s.queue[i]
		if now.Sub(t.Ready) < strandedAfter || t.group != nil {
			continue
		}
		g, gated := t.Source.(Gate)
		sp, ok := t.Source.(Splitter)
		if !gated || !ok || !sp.Joined(t) || s.someoneMayTakeLocked(t, g) {
			continue
		}
		parts := s.splitLocked(t)
		if parts == nil {
			continue
		}
		s.queue = slices.Replace(s.queue, i, i+1, parts...)
		i += len(parts) - 1
		n++
	}
	return n
}

// someoneMayTakeLocked reports whether any connected contributor that
// works for t's job and runs its kernel may receive t under its gate. It
// looks at most at maxSeenStranded sessions: past that the task is split
// (which only costs the round trips joining saves).
func (s *scheduler) someoneMayTakeLocked(t *Task, g Gate) bool {
	seen := 0
	for sess, st := range s.sessions {
		if seen++; seen > maxSeenStranded {
			return false
		}
		if !st.works(t.Job) || !sess.runs(t.Op) || sess.closing() {
			continue
		}
		if ok, _ := g.Check(sess.address(), t); ok {
			return true
		}
	}
	return false
}

// maxSeenStranded bounds the sessions looked at for one stranded task.
const maxSeenStranded = 64
