package hub

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/verify"
)

// scheduler owns the task queue and the leases. Sessions call into it from
// their reader goroutines; one mutex guards all of its state, and it never
// blocks while holding it: handing a task to a session is a non-blocking
// channel send, and a session whose channel is full is dropped as slow.
//
// Invariant: every task that a source has handed out is either in queue, in
// leases, has been passed to its source's Done, or has been given back to
// a source that computes it itself (fallback.go). Nothing else removes a
// task, so an expired lease or a lost connection never loses one.
type scheduler struct {
	leaseTimeout time.Duration
	now          func() time.Time
	// runID makes task keys unique across hub restarts.
	runID string
	// blind disguises every assignment (verify.Blinding).
	blind bool
	// replication returns the probability that a task first leased to
	// addr is also executed by someone else; nil never replicates.
	replication func(addr string) float64
	// metrics records lease waits; nil records nothing.
	metrics *metrics.Metrics

	mu      sync.Mutex
	sources []Source
	// background counts the sources at the end of sources that only fill
	// idle capacity.
	background int
	queue      []*Task // FIFO; requeued tasks go to the front
	leases     map[uint64]*lease
	sessions   map[*session]*seat
	// want lists the sessions that may have a free slot, the only ones
	// fill visits; a full, closing or departed one is dropped lazily.
	want []*session
	// addrs and ips count connected sessions per address and per IP.
	addrs map[string]int
	ips   map[string]int
	rng   *rand.Rand
	// avoid lists, per queued task, the addresses that let its lease expire
	// or returned a wrong result for it: the task goes to someone else
	// whenever someone else is connected.
	avoid    map[uint64][]string
	next     int // where fill's next pass over want starts
	nextID   uint64
	counters counters
	// grantErrors counts leases cancelled because a gate could not record them.
	grantErrors uint64
	// removed holds the sources removeSource dropped; their tasks are
	// dropped instead of requeued when a lease ends without a result.
	removed map[Source]struct{}
	// lostKept says a Kept was lost since its queued tasks were last
	// dropped; failed holds tasks that failed for good, for their sources
	// (resident.go).
	lostKept bool
	failed   []*Task
	// keepers are the sessions that may keep weights (trusted, with an
	// operand cache): the few that Hub.Keeps and Hub.Strand look at,
	// however many others are connected.
	keepers map[*session]*seat
	// byAddr lists each address's sessions, for the Kepts placed at an
	// address (Kept.For).
	byAddr map[string][]*session
	// choosers counts the seats that chose jobs (seat.jobs not nil);
	// while it is 0 every contributor may take every task and the
	// checks that depend on choices take their fast paths.
	choosers int
}

// lease is a task held by one session until its deadline.
type lease struct {
	task     *Task
	blinded  bool                            // the assignment is to be blinded
	blind    atomic.Pointer[verify.Blinding] // its blinding, set by the session's write loop; nil when not blinded
	sess     *session
	deadline time.Time
	leasedAt time.Time
}

// seat is the scheduler's view of one session.
type seat struct {
	capacity int
	held     map[uint64]*lease
	wanting  bool // listed in scheduler.want
	// names are the jobs the contributor chose, as it named them, and
	// jobs the job IDs (Task.Job) they resolve to; both nil when it works
	// for every job (jobchoice.go).
	names []string
	jobs  map[string]bool
	// kept lists the Kepts this connection keeps.
	kept []*Kept
}

// counters are the hub-wide totals shown in status.
type counters struct {
	Leased, Completed, Rejected, Expired, Requeued, Replicas uint64
	// Dropped counts leases that ended without a result and are not
	// requeued: a removed job's tasks (nobody needs them any more), and
	// the tasks of kept weights whose lease ended without an accepted
	// result, whatever ended it (they fail to their source, which recovers
	// the weights).
	Dropped uint64
	// GrantErrors counts leases cancelled because a gate could not record
	// them (the exposure record's database failing).
	GrantErrors uint64
	// ComputedHere counts tasks their sources computed themselves because
	// no connected contributor of their job might take them (fallback.go).
	ComputedHere uint64
}

func newScheduler(leaseTimeout time.Duration) *scheduler {
	var seed [24]byte
	crand.Read(seed[:])
	return &scheduler{
		leaseTimeout: leaseTimeout,
		now:          time.Now,
		runID:        hex.EncodeToString(seed[16:]),
		rng:          rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16]))),
		ips:          make(map[string]int),
		leases:       make(map[uint64]*lease),
		sessions:     make(map[*session]*seat),
		addrs:        make(map[string]int),
		avoid:        make(map[uint64][]string),
		nextID:       1,
		removed:      make(map[Source]struct{}),
		keepers:      make(map[*session]*seat),
		byAddr:       make(map[string][]*session),
	}
}

// addSource registers a producer of tasks. Sources are asked for work in
// order; background sources (filler work such as the matmul job) come
// after all others, so they only use capacity nobody else needs.
func (s *scheduler) addSource(src Source, background bool) {
	s.mu.Lock()
	delete(s.removed, src)
	if background {
		s.sources = append(s.sources, src)
		s.background++
	} else {
		at := len(s.sources) - s.background
		s.sources = append(s.sources[:at], append([]Source{src}, s.sources[at:]...)...)
	}
	s.mu.Unlock()
	s.fill()
}

// join registers a session that can hold capacity tasks of every job and
// leases it work.
func (s *scheduler) join(sess *session, capacity int) { s.joinChoosing(sess, capacity, choice{}) }

// joinChoosing registers a session that can hold capacity tasks of the
// jobs in ch and leases it work.
func (s *scheduler) joinChoosing(sess *session, capacity int, ch choice) {
	s.mu.Lock()
	st := &seat{capacity: capacity, held: make(map[uint64]*lease)}
	s.setChoiceLocked(st, ch)
	s.sessions[sess] = st
	if sess.trusted && sess.kept != nil && sess.kept.limit > 0 {
		s.keepers[sess] = st
	}
	s.byAddr[sess.address()] = append(s.byAddr[sess.address()], sess)
	s.wantLocked(sess, st)
	s.addrs[sess.address()]++
	s.ips[sess.remote]++
	s.mu.Unlock()
	s.fill()
}

// wantLocked lists sess among those fill serves if it has a free slot.
func (s *scheduler) wantLocked(sess *session, st *seat) {
	if st != nil && !st.wanting && len(st.held) < st.capacity {
		st.wanting = true
		s.want = append(s.want, sess)
	}
}

// leave removes a session and requeues every task it held.
func (s *scheduler) leave(sess *session) {
	s.mu.Lock()
	st, ok := s.sessions[sess]
	if ok {
		delete(s.sessions, sess)
		delete(s.keepers, sess)
		if others := slices.DeleteFunc(s.byAddr[sess.address()], func(o *session) bool { return o == sess }); len(others) > 0 {
			s.byAddr[sess.address()] = others
		} else {
			delete(s.byAddr, sess.address())
		}
		s.setChoiceLocked(st, choice{})
		if s.addrs[sess.address()]--; s.addrs[sess.address()] <= 0 {
			delete(s.addrs, sess.address())
		}
		if s.ips[sess.remote]--; s.ips[sess.remote] <= 0 {
			delete(s.ips, sess.remote)
		}
		for id, l := range st.held {
			delete(s.leases, id)
			if l.task.Kept != nil {
				s.endKeptLeaseLocked(l.task)
				continue
			}
			s.requeueLocked(l.task)
		}
		for _, k := range st.kept {
			s.loseLocked(k)
		}
	}
	s.mu.Unlock()
	if ok {
		s.fill()
	}
}

// setCapacity changes how many tasks a session may hold.
func (s *scheduler) setCapacity(sess *session, capacity int) {
	s.mu.Lock()
	if st, ok := s.sessions[sess]; ok {
		st.capacity = capacity
		s.wantLocked(sess, st)
	}
	s.mu.Unlock()
	s.fill()
}

var errUnknownTask = errors.New("no such task is leased to this contributor (it may have expired and been given to another)")

// take removes sess's lease on task id and returns it for verification.
// The session's slot is freed at once.
func (s *scheduler) take(sess *session, id uint64) (*lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[id]
	if !ok || l.sess != sess {
		return nil, errUnknownTask
	}
	delete(s.leases, id)
	st := s.sessions[sess]
	delete(st.held, id)
	s.wantLocked(sess, st)
	return l, nil
}

// finish records the outcome of a task taken by sess. A rejected task
// goes back to the queue for another contributor.
func (s *scheduler) finish(sess *session, t *Task, accepted bool) {
	s.mu.Lock()
	if accepted {
		s.counters.Completed++
		delete(s.avoid, t.ID)
	} else {
		s.counters.Rejected++
		if t.Kept != nil {
			s.endKeptLeaseLocked(t)
		} else {
			s.avoid[t.ID] = append(s.avoid[t.ID], sess.address())
			s.requeueLocked(t)
		}
	}
	s.mu.Unlock()
	s.fill()
}

// expire requeues every lease past its deadline, splits the joined tasks
// nobody connected may take (stranded.go), and gives the tasks nobody
// connected may take back to sources that compute them (fallback.go).
func (s *scheduler) expire() {
	s.mu.Lock()
	now := s.now()
	n := 0
	for id, l := range s.leases {
		if now.After(l.deadline) {
			delete(s.leases, id)
			if st, ok := s.sessions[l.sess]; ok {
				delete(st.held, id)
				s.wantLocked(l.sess, st)
			}
			s.counters.Expired++
			n++
			if l.task.Kept != nil {
				s.endKeptLeaseLocked(l.task)
				continue
			}
			s.avoid[id] = append(s.avoid[id], l.sess.address())
			s.requeueLocked(l.task)
		}
	}
	n += s.splitStrandedLocked(now)
	back := s.unplaceableLocked(now)
	s.mu.Unlock()
	giveBack(back)
	if n > 0 || len(back) > 0 {
		s.fill()
	}
}

func (s *scheduler) requeueLocked(t *Task) {
	if _, gone := s.removed[t.Source]; gone {
		delete(s.avoid, t.ID)
		s.counters.Dropped++
		return
	}
	s.counters.Requeued++
	t.Ready = s.now()
	if parts := s.splitLocked(t); parts != nil {
		// Queued again as its pieces, each avoiding whoever failed it.
		s.queue = slices.Insert(s.queue, 0, parts...)
		return
	}
	s.queue = slices.Insert(s.queue, 0, t)
}

// fill leases queued (or newly produced) tasks to sessions with free slots,
// round-robin, until no session wants more or no task is left. It visits
// only the sessions listed in want (those that may have a free slot), not
// every connected one: with thousands of idle contributors connected, a
// result must not cost a walk over all of them. Each pass starts one
// place further along the list, so that scarce tasks are shared.
func (s *scheduler) fill() {
	s.mu.Lock()
	s.fillLocked()
	s.mu.Unlock()
	s.deliverFailures()
}

func (s *scheduler) fillLocked() {
	s.dropLostLocked()
	for {
		progress := false
		n := len(s.want)
		start := 0
		if n > 0 {
			start = s.next % n
		}
		for k := range n {
			i := (start + k) % n
			sess := s.want[i]
			st := s.sessions[sess]
			if st == nil || len(st.held) >= st.capacity || sess.closing() {
				if st != nil {
					st.wanting = false
				}
				s.want[i] = nil // full or gone: dropped below
				continue
			}
			t := s.popLocked(sess, st)
			if t == nil {
				continue
			}
			now := s.now()
			own := t.Kept != nil || t.Verify != nil // checked by its source: never blinded
			l := &lease{task: t, sess: sess, leasedAt: now, deadline: now.Add(s.leaseTimeout), blinded: s.blind && !sess.trusted && !own}
			if !sess.sendTask(l) {
				// Slow peer: its reader will call leave; keep the task.
				s.requeueLocked(t)
				continue
			}
			if k := t.Kept; k != nil && k.holder == nil {
				k.holder = sess
				st.kept = append(st.kept, k)
			}
			s.leases[t.ID] = l
			st.held[t.ID] = l
			if t.group != nil {
				t.group.assigned[t.ID] = sess.address()
			}
			sess.who.leasedJob(t.Job)
			s.counters.Leased++
			s.metrics.LeaseWait(now.Sub(t.Ready))
			progress = true
			s.maybeReplicateLocked(t, sess)
		}
		s.next = start + 1
		kept := s.want[:0]
		for _, sess := range s.want {
			if sess != nil {
				kept = append(kept, sess)
			}
		}
		clear(s.want[len(kept):])
		s.want = kept
		if !progress {
			return
		}
	}
}

// maxScan bounds how far into the queue popLocked looks for a task that
// sess may take, keeping fill cheap when many tasks avoid one contributor.
const maxScan = 64

// popLocked returns the next task for sess, seated at st: among the first
// maxScan queued tasks of the jobs it works for, the oldest it may take
// that reveals nothing new to it, else the oldest it may take at all;
// failing that, the same choice among a batch of new tasks from the
// sources of those jobs. Tasks of other jobs are passed over without
// counting, so they wait for a contributor who chose them without
// holding up anyone else. A task is granted (its exposure recorded)
// before it is returned.
func (s *scheduler) popLocked(sess *session, st *seat) *Task {
	addr := sess.address()
	s.pullUrgentLocked(st)
	t, seen := s.takeLocked(sess, st, addr, sess.remote, 0)
	if t != nil {
		return t
	}
	if seen >= maxScan {
		return nil // enough work is waiting for others; do not pile up more
	}
	for _, src := range s.sources {
		if !st.works(src.Name()) {
			continue // nobody asks a job for tasks no one will take
		}
		// Ask for a small batch so that sources can amortize generation.
		ts := src.Next(8)
		if len(ts) == 0 {
			continue
		}
		s.admitLocked(src, ts)
		from := len(s.queue)
		s.queue = append(s.queue, ts...)
		if t, _ := s.takeLocked(sess, st, addr, sess.remote, from); t != nil {
			return t
		}
	}
	return nil
}

// admitLocked names new tasks of src and stamps them ready.
func (s *scheduler) admitLocked(src Source, ts []*Task) {
	now := s.now()
	for _, t := range ts {
		if t.Ready.IsZero() {
			t.Ready = now
		}
		t.ID = s.nextID
		t.key = s.runID + "-" + strconv.FormatUint(t.ID, 10)
		s.nextID++
		if t.Source == nil {
			t.Source = src
		}
		if t.Job == "" {
			t.Job = src.Name()
		}
		if t.Kept != nil && t.Kept.lost {
			s.lostKept = true // dropped and failed by the next fill
		}
	}
}

// pullUrgentLocked puts the new tasks of urgent sources (inference, whose
// requests someone is waiting for) ahead of every other task queued, for
// the jobs st works for.
func (s *scheduler) pullUrgentLocked(st *seat) {
	for _, src := range s.sources {
		if !isUrgent(src) || !st.works(src.Name()) {
			continue
		}
		ts := src.Next(8)
		if len(ts) == 0 {
			continue
		}
		s.admitLocked(src, ts)
		// After the urgent tasks already queued (first come, first served
		// among them), before everything else.
		s.enqueueLocked(src, ts)
	}
}

func isUrgent(src Source) bool {
	u, ok := src.(Urgent)
	return ok && u.Urgent()
}

// takeLocked removes and returns the best task for addr among the first
// maxScan tasks of st's jobs in queue[from:], and says how many of those
// it looked at.
func (s *scheduler) takeLocked(sess *session, st *seat, addr, ip string, from int) (*Task, int) {
	pick, seen := -1, 0
	for i := from; i < len(s.queue) && seen < maxScan; i++ {
		t := s.queue[i]
		if !st.works(t.Job) {
			continue
		}
		seen++
		if t.exclude == addr || !sess.runs(t.Op) || t.group.heldElsewhere(t.ID, addr) || s.shouldAvoid(t, addr) {
			continue
		}
		if t.Kept != nil && !s.mayHoldLocked(sess, st, t.Kept) {
			continue
		}
		if t.excludeIP != "" && t.excludeIP == ip && s.otherNetworkLocked(ip, t.Job) {
			continue // a replica avoids its primary's network where it can
		}
		g, gated := t.Source.(Gate)
		if !gated {
			pick = i
			break
		}
		allowed, reveals := g.Check(addr, t)
		if !allowed {
			continue
		}
		if !reveals {
			pick = i
			break
		}
		if pick < 0 {
			pick = i
		}
	}
	if pick < 0 {
		return nil, seen
	}
	t := s.queue[pick]
	if !s.grantLocked(addr, t) {
		return nil, seen
	}
	copy(s.queue[pick:], s.queue[pick+1:])
	s.queue[len(s.queue)-1] = nil
	s.queue = s.queue[:len(s.queue)-1]
	return t, seen
}

// grantLocked asks t's gate, if any, to record that addr receives t.
func (s *scheduler) grantLocked(addr string, t *Task) bool {
	g, gated := t.Source.(Gate)
	if !gated {
		return true
	}
	if err := g.Grant(addr, t); err != nil {
		s.grantErrors++
		return false
	}
	return true
}

// removeSource stops taking tasks from src and drops its queued tasks.
// Tasks already leased finish normally and reach src.Done.
func (s *scheduler) removeSource(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed[src] = struct{}{}
	for i, o := range s.sources {
		if o == src {
			if i >= len(s.sources)-s.background {
				s.background--
			}
			s.sources = append(s.sources[:i], s.sources[i+1:]...)
			break
		}
	}
	kept := s.queue[:0]
	for _, t := range s.queue {
		if t.Source != src {
			kept = append(kept, t)
		} else {
			delete(s.avoid, t.ID)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}
