package hub

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Resident weights, the hub's side (protocol's "Resident weights" has the
// wire, hub/train/resident the checks). A source that lets a contributor
// keep a weight matrix between steps describes it with a Kept and sets it
// on every task that uses it:
//
//   - a product with the kept weights (Update.Mode none): B is the kept
//     matrix, which the task does not carry;
//   - an update (Update.Mode set): the task's TN product is the matrix's
//     gradient, which the contributor applies itself and does not return.
//
// All of them go to one connection, the first that may keep it with room
// in its operand cache that takes one: an operator's own worker, or, for a
// Kept placed at an address (Kept.For), a connection of that address whose
// record lets it keep weights (VerificationConfig.KeepAfter); its session
// installs the matrix and its momentum there (two Keep messages) before the
// first task that uses them. Such tasks carry their own check (Task.Verify),
// since the hub no longer has the matrix to run Freivalds with; they are
// never blinded or replicated. If the connection ends, or one of the tasks
// fails its check or its lease, what the contributor kept is lost: every
// task of the Kept, leased or queued or yet to come, fails to its source
// (Failer) with ErrKeptLost, and the source starts over with a new Kept.

// Kept is a weight matrix and its momentum that one contributor keeps for
// a source.
type Kept struct {
	// Rows and Cols are the matrix's dimensions (K×N).
	Rows, Cols int
	// W and V are the values to install: the weights and the momentum.
	// They must not change once a task using the Kept is queued.
	W, V []float32
	// For, when set, places the Kept at one address: only that address's
	// connections may keep it, and only while their record lets them (a
	// strike ends it). Unset, only an operator's own worker may.
	For string

	// Guarded by the scheduler's lock:
	holder *session // the connection that keeps it; nil until the first lease
	lost   bool
	// released is set by Release: a session may forget the matrices.
	released atomic.Bool

	// updates holds the updates whose credit waits for the matrix they
	// changed to be handed back.
	updates updateChecks
}

// An update's credit is pending until the matrix it changed is handed
// back and checked whole. Its own check only bounds what the contributor
// reported (the updated matrix's norms), and the products made with the
// matrix afterwards are checked against sketches within a rounding
// tolerance: a small error in one update can pass the next check and be
// caught only as errors add up (RATIONALE.md, "Resident weights"). The
// hand-back (ResidentStepReturn) is checked against the sketches the hub
// followed, and becomes the job's anchor. So: an update accepted becomes
// pending credit; an accepted hand-back of the same Kept makes it
// verified; a refused result of the keeper voids it with the rest of the
// keeper's pending credit (Hub.penalize). If the Kept ends first (its
// keeper leaves, or the job goes back to its anchor: a rollback, a pause,
// the hub stopping), the job throws the update away and nothing will
// check it: its credit stays pending, neither verified nor blamed. The
// hand-back itself is verified at once.

// updateRef names an update's pending credit.
type updateRef struct{ task, addr string }

// updateChecks is a Kept's updates waiting for a hand-back. It has its own
// lock: results are judged on the sessions' goroutines.
type updateChecks struct {
	mu      sync.Mutex
	waiting []updateRef
	over    bool // the Kept was lost or released: no hand-back will come
}

// wait adds u to the updates waiting for a hand-back, unless none will
// come.
func (c *updateChecks) wait(u updateRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.over {
		c.waiting = append(c.waiting, u)
	}
}

// passed returns the updates a hand-back has confirmed, and forgets them.
func (c *updateChecks) passed() []updateRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.waiting
	c.waiting = nil
	return u
}

// end records that no hand-back will come: the updates waiting stay
// pending.
func (c *updateChecks) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.over, c.waiting = true, nil
}

// confirmUpdates verifies the credit of k's updates, confirmed by a
// hand-back that passed its check.
func (h *Hub) confirmUpdates(k *Kept) {
	us := k.updates.passed()
	if len(us) == 0 {
		return
	}
	ops := make([]CreditOp, len(us))
	for i, u := range us {
		ops[i] = CreditOp{Kind: CreditVerify, Task: u.task, Address: u.addr, Reason: "the weights it updated were handed back and passed their check"}
	}
	// The keeper's record grows with the hand-back itself (accept), not
	// once more per update: an update a strike has voided since it was
	// queued must not shorten the keeper's quarantine (its Verify finds
	// no pending row and changes nothing).
	h.creditBehind(ops...)
}

// bytes is what the contributor keeps: the matrix and its momentum.
func (k *Kept) bytes() int64 { return 8 * int64(k.Rows) * int64(k.Cols) }

// ErrKeptLost fails the tasks of a Kept whose contributor is gone, or
// returned a wrong result: what it kept cannot be trusted or reached.
var ErrKeptLost = errors.New("the contributor keeping these weights disconnected or failed a check; what it kept is lost")

// Failer is implemented by sources whose tasks can fail for good (those
// of a Kept): Failed is called, with no lock held, instead of Done.
type Failer interface {
	Failed(t *Task, err error)
}

// Release tells the hub that k's tasks are over: the connection that keeps
// it may forget the matrices when it needs the room.
func (k *Kept) Release() {
	k.released.Store(true)
	k.updates.end()
}

// mayHoldLocked reports whether sess, seated at st, may take a task of k:
// k's holder, or, for a Kept nobody holds yet, a connection that may keep
// it (mayKeep) with room in its cache for k beside the Kepts it already
// keeps.
func (s *scheduler) mayHoldLocked(sess *session, st *seat, k *Kept) bool {
	if k.lost {
		return false
	}
	if k.holder != nil {
		return k.holder == sess
	}
	return mayKeep(sess, k) && s.roomLocked(sess, st) >= k.bytes()
}

// mayKeep reports whether sess may keep k: an operator's own worker may
// keep any Kept; a Kept placed at an address (Kept.For) may also go to an
// ordinary connection of that address whose record lets it keep weights.
func mayKeep(sess *session, k *Kept) bool {
	if k.For == "" {
		return sess.trusted
	}
	return sess.address() == k.For && (sess.trusted || sess.h != nil && sess.h.rep.mayKeep(k.For))
}

// roomLocked is what sess, seated at st, could still keep: its cache
// beside the Kepts it keeps (0 without a cache).
func (s *scheduler) roomLocked(sess *session, st *seat) int64 {
	if sess.kept == nil {
		return 0
	}
	held := st.kept[:0] // forget the Kepts that are over
	var bytes int64
	for _, o := range st.kept {
		if !o.lost && !o.released.Load() {
			held = append(held, o)
			bytes += o.bytes()
		}
	}
	clear(st.kept[len(held):])
	st.kept = held
	return sess.kept.limit - bytes
}

// takingLocked reports whether sess, seated at st, takes tasks of job now:
// it works for job, has slots (is not paused or draining) and is not
// closing.
func takingLocked(sess *session, st *seat, job string) bool {
	return st.capacity > 0 && st.works(job) && !sess.closing()
}

// OrdinaryMayKeep reports whether this hub lets ordinary contributors keep
// weights at all (VerificationConfig.KeepAfter is not 0).
func (h *Hub) OrdinaryMayKeep() bool { return h.cfg.Verification.KeepAfter > 0 }

// Keeps reports whether a connection is there that could keep bytes of
// weights for job (Kept.bytes: matrices and their momentum): a trusted
// one (an operator's own worker; the service trusts exactly the own
// workers, whom exposure caps exempt) that takes tasks of job and has that
// much room in its operand cache beside what it keeps. A source with
// resident weights asks, for all of its matrices, before it installs
// them, and trains the ordinary way when none is.
func (h *Hub) Keeps(job string, bytes int64) bool {
	s := h.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess, st := range s.keepers {
		if takingLocked(sess, st, job) && s.roomLocked(sess, st) >= max(bytes, 1) {
			return true
		}
	}
	return false
}

// Strand marks k lost, when nobody can run its tasks any more, and
// reports whether it is lost: its holder left, takes no more tasks, or no
// longer works for job; or nobody holds it yet and no connection that
// takes tasks of job has room for it. Its queued tasks then fail to their
// source (ErrKeptLost), which goes back to its anchor rather than wait for
// a keeper that may never come. A source with resident weights calls it
// while a step waits, and fails the tasks it has not yet handed to the hub
// itself.
func (h *Hub) Strand(job string, k *Kept) bool {
	s := h.sched
	s.mu.Lock()
	if !k.lost && !s.reachableLocked(job, k) {
		s.loseLocked(k)
	}
	lost := k.lost
	s.mu.Unlock()
	if lost {
		s.fill() // fails the queued tasks
	}
	return lost
}

// reachableLocked reports whether some connection can run k's tasks.
func (s *scheduler) reachableLocked(job string, k *Kept) bool {
	if k.holder != nil {
		st := s.sessions[k.holder]
		return st != nil && takingLocked(k.holder, st, job)
	}
	if k.For != "" {
		for _, sess := range s.byAddr[k.For] {
			if st := s.sessions[sess]; st != nil && takingLocked(sess, st, job) && s.mayHoldLocked(sess, st, k) {
				return true
			}
		}
		return false
	}
	for sess, st := range s.keepers {
		if takingLocked(sess, st, job) && s.mayHoldLocked(sess, st, k) {
			return true
		}
	}
	return false
}

// Holder is an ordinary connection that may keep weights for a job: its
// address, and the room in its operand cache beside what it keeps.
type Holder struct {
	Address string
	Room    int64
}

// Holders lists the addresses of the ordinary connections (not own
// workers) that may keep weights for job now: their record lets them
// (VerificationConfig.KeepAfter), they take tasks of job, and they have
// room in their operand cache. An address with several connections is
// listed once, with the most room among them. A source places its Kepts
// at these addresses (Kept.For), within its own exposure cap.
func (h *Hub) Holders(job string) []Holder {
	s := h.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Holder
	for addr, sessions := range s.byAddr {
		if !h.rep.mayKeep(addr) {
			continue
		}
		var room int64
		for _, sess := range sessions {
			if st := s.sessions[sess]; st != nil && !sess.trusted && takingLocked(sess, st, job) {
				room = max(room, s.roomLocked(sess, st))
			}
		}
		if room > 0 {
			out = append(out, Holder{Address: addr, Room: room})
		}
	}
	slices.SortFunc(out, func(a, b Holder) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// dropKeeper loses every Kept that addr's connections keep: a strike ends
// an address's keeping. Their tasks fail to their sources (ErrKeptLost),
// which go back to their anchors.
func (s *scheduler) dropKeeper(addr string) {
	s.mu.Lock()
	lost := false
	for _, sess := range s.byAddr[addr] {
		st := s.sessions[sess]
		if st == nil {
			continue
		}
		for _, k := range st.kept {
			if !k.lost && !k.released.Load() {
				s.loseLocked(k)
				lost = true
			}
		}
	}
	s.mu.Unlock()
	if lost {
		s.fill()
	}
}

// loseLocked marks k lost and fails its queued tasks; leased ones fail as
// their leases end. The failures are delivered by deliverFailures.
func (s *scheduler) loseLocked(k *Kept) {
	if k.lost {
		return
	}
	k.lost = true
	s.lostKept = true
	k.updates.end()
}

// dropLostLocked removes the queued tasks of lost Kepts, to fail them.
func (s *scheduler) dropLostLocked() {
	if !s.lostKept {
		return
	}
	s.lostKept = false
	kept := s.queue[:0]
	for _, t := range s.queue {
		if t.Kept != nil && t.Kept.lost {
			s.failed = append(s.failed, t)
			delete(s.avoid, t.ID)
			continue
		}
		kept = append(kept, t)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

// endKeptLeaseLocked handles a lease of a Kept's task that ended without
// an accepted result: the task fails and the Kept is lost. The lease
// counts as dropped (not requeued), whatever ended it.
func (s *scheduler) endKeptLeaseLocked(t *Task) {
	s.counters.Dropped++
	s.loseLocked(t.Kept)
	s.failed = append(s.failed, t)
}

// deliverFailures hands failed tasks to their sources. Call it with the
// lock not held.
func (s *scheduler) deliverFailures() {
	s.mu.Lock()
	s.dropLostLocked()
	failed := s.failed
	s.failed = nil
	s.mu.Unlock()
	for _, t := range failed {
		if f, ok := t.Source.(Failer); ok {
			f.Failed(t, ErrKeptLost)
		}
	}
}

// keptIDs is where one contributor keeps a Kept.
type keptIDs struct{ w, v uint32 }

// install makes room for k in the contributor's cache and returns the ids
// it keeps k under, with the Keep messages to send first (none when it
// already holds k). Room comes from the matrices released (Kept.Release)
// first, then from the operands least recently used. ok is false, and
// nothing changes, when that is not enough.
func (c *opCache) install(k *Kept) (ids keptIDs, msgs []*protocol.Keep, ok bool) {
	if e, held := c.kept[k]; held {
		return e, nil, true
	}
	size := k.bytes()
	var released []*Kept
	free, drops := c.limit-c.used, 0
	for other := range c.kept {
		if other.released.Load() {
			released = append(released, other)
			free, drops = free+other.bytes(), drops+2
		}
	}
	for e := c.recent.next; free < size && e != &c.recent; e = e.next {
		free, drops = free+e.bytes, drops+1
	}
	if free < size || drops > protocol.MaxDrop {
		return keptIDs{}, nil, false
	}
	scratch := protocol.Task{}
	for _, other := range released {
		e := c.kept[other]
		scratch.Drop = append(scratch.Drop, e.w, e.v)
		c.used -= other.bytes()
		delete(c.kept, other)
	}
	for c.used+size > c.limit {
		c.evict(&scratch, c.recent.next)
	}
	ids = keptIDs{w: c.nextID(), v: c.nextID()}
	c.used += size
	c.kept[k] = ids
	msgs = []*protocol.Keep{
		{ID: ids.w, Drop: scratch.Drop, Rows: k.Rows, Cols: k.Cols, Data: k.W},
		{ID: ids.v, Rows: k.Rows, Cols: k.Cols, Data: k.V},
	}
	return ids, msgs, true
}

// nextID returns a fresh id for a kept operand.
func (c *opCache) nextID() uint32 {
	c.lastID++
	if c.lastID == 0 {
		c.lastID = 1
	}
	return c.lastID
}

// unsendable fails a Kept's task that its session could not send (the
// matrices do not fit the contributor's cache beside what it must keep).
func (s *scheduler) unsendable(sess *session, l *lease) {
	s.mu.Lock()
	id := l.task.ID
	if cur, ok := s.leases[id]; ok && cur == l {
		delete(s.leases, id)
		if st, ok := s.sessions[sess]; ok {
			delete(st.held, id)
			s.wantLocked(sess, st)
		}
		s.endKeptLeaseLocked(l.task)
	}
	s.mu.Unlock()
	s.fill()
}
