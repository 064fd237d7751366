package hub

import "slices"

// Replication and avoidance: which tasks are executed twice, and which wait
// for a contributor other than one that failed them (the scheduler's lock is
// held for all of these).

// maybeReplicateLocked decides, the first time t is leased, whether it is
// also executed by a second contributor; if so the replica, identical but
// for its ID (and blinded differently when sent), goes to the front of the
// queue, excluded from t's holder.
func (s *scheduler) maybeReplicateLocked(t *Task, holder *session) {
	// Only when someone else could take the replica: a lone contributor's
	// work is checked by Freivalds alone rather than left pending forever.
	if t.Kept != nil || t.Verify != nil {
		return // only its holder can compute it, and its source checks it
	}
	if t.group != nil || s.replication == nil || len(s.addrs) < 2 || s.rng.Float64() >= s.replication(holder.address()) {
		return
	}
	if !s.replicaPlaceableLocked(t, holder.address()) {
		return
	}
	t.group = newGroup(t)
	t.group.assigned = map[uint64]string{t.ID: holder.address()}
	r := t.replica(s.nextID, holder.address(), holder.remote)
	r.Ready = s.now()
	s.nextID++
	s.counters.Replicas++
	s.queue = append(s.queue, nil)
	copy(s.queue[1:], s.queue)
	s.queue[0] = r
}

// replicaPlaceableLocked reports whether a replica of t could go to a
// connected contributor other than holder who works for t's job, without
// revealing anything new to it: replication must never widen a model's
// exposure, so a gated task is replicated only to someone who already
// holds what it carries.
func (s *scheduler) replicaPlaceableLocked(t *Task, holder string) bool {
	g, gated := t.Source.(Gate)
	if !gated && s.choosers == 0 {
		return true
	}
	for sess, st := range s.sessions {
		if a := sess.address(); a != holder && st.works(t.Job) {
			if !gated {
				return true
			}
			if allowed, reveals := g.Check(a, t); allowed && !reveals {
				return true
			}
		}
	}
	return false
}

// shouldAvoid reports whether task id should wait for a contributor other
// than addr: addr failed it before and someone else is connected.
func (s *scheduler) shouldAvoid(t *Task, addr string) bool {
	bad := s.avoid[t.ID]
	if len(bad) == 0 {
		return false
	}
	failedHere, othersFailedConnected := false, 0
	for _, a := range bad {
		if a == addr {
			failedHere = true
		} else if s.addrs[a] > 0 {
			othersFailedConnected++
		}
	}
	if !failedHere {
		return false
	}
	// Connected addresses other than addr that have not failed the task
	// and may take it at all: not the replica's primary holder, not the
	// holder of the task's other execution, and working for its job.
	barred := make([]string, 0, 2) // at most the primary's holder and the other member's
	if t.exclude != "" {
		barred = append(barred, t.exclude)
	}
	if t.group != nil {
		for id, a := range t.group.assigned {
			if id != t.ID && !slices.Contains(barred, a) {
				barred = append(barred, a)
			}
		}
	}
	if s.choosers > 0 {
		return s.freshTakerLocked(t.Job, addr, bad, barred)
	}
	fresh := len(s.addrs) - 1 - othersFailedConnected
	for _, a := range barred {
		if a != addr && s.addrs[a] > 0 && !slices.Contains(bad, a) {
			fresh--
		}
	}
	return fresh > 0
}
