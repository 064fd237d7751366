package hub

import (
	"slices"
	"time"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Contributors choose the jobs they work for (Hello.Jobs, protocol.Choose):
// by a job's ID (Task.Job, its source's Name) or by its name. The hub
// resolves names against the jobs it knows when the choice is made and
// again whenever a source is added, so a job created after a contributor
// chose it by name reaches that contributor too. A choice naming nothing
// means every job, the built-in matmul job included.

// JobRef is a job a contributor may choose.
type JobRef struct {
	// ID is what the job's tasks carry in Task.Job.
	ID string `json:"id"`
	// Name is the job's human label; several jobs may share one.
	Name string `json:"name"`
	// Model is the kind of model ("mlp", "gpt2"; "benchmark" for matmul).
	Model string `json:"model"`
}

// matmulRef is the built-in matmul job as contributors see it.
func matmulRef(j *MatmulJob) JobRef {
	return JobRef{ID: j.Name(), Name: j.Name(), Model: "benchmark"}
}

// directoryTTL is how long jobDirectory's answer is reused: a peer that
// sends Choose messages in a loop must not make the hub list its jobs
// each time.
const directoryTTL = time.Second

// jobDirectory returns the jobs contributors may choose, at most
// directoryTTL old.
func (h *Hub) jobDirectory() []JobRef {
	h.dirMu.Lock()
	dir, at := h.dir, h.dirAt
	h.dirMu.Unlock()
	if !at.IsZero() && time.Since(at) < directoryTTL {
		return dir
	}
	return h.freshJobDirectory()
}

// freshJobDirectory returns the jobs contributors may choose now: the
// built-in matmul job, when it runs, and every job SetJobDirectory's
// function lists (called without the hub's lock held).
func (h *Hub) freshJobDirectory() []JobRef {
	dir := h.listJobs()
	h.dirMu.Lock()
	h.dir, h.dirAt = dir, time.Now()
	h.dirMu.Unlock()
	return dir
}

func (h *Hub) listJobs() []JobRef {
	var dir []JobRef
	if h.matmul != nil {
		dir = append(dir, matmulRef(h.matmul))
	}
	h.mu.Lock()
	f := h.jobDir
	h.mu.Unlock()
	if f == nil {
		return dir
	}
	for _, r := range f() {
		if r.ID != "" {
			dir = append(dir, r)
		}
	}
	return dir
}

// choice is a contributor's choice of jobs, resolved against a directory.
type choice struct {
	names   []string        // as the contributor named them; nil: every job
	jobs    map[string]bool // the job IDs they name; nil: every job
	known   []string        // the names that matched a job
	unknown []string        // the names that matched none
}

// resolveChoice matches names (job IDs or names) against dir. A name may
// match several jobs (names are not unique) and still counts once.
func resolveChoice(names []string, dir []JobRef) choice {
	if len(names) == 0 {
		return choice{}
	}
	ch := choice{names: names, jobs: map[string]bool{}}
	for _, n := range names {
		found := false
		for _, j := range dir {
			if j.ID == n || j.Name == n {
				ch.jobs[j.ID], found = true, true
			}
		}
		if found {
			ch.known = append(ch.known, n)
		} else {
			ch.unknown = append(ch.unknown, n)
		}
	}
	return ch
}

// chosenMessage is the hub's answer to ch: the names it knows, those it
// does not, and the names of every job it runs.
func chosenMessage(ch choice, dir []JobRef) *protocol.Chosen {
	m := &protocol.Chosen{Jobs: ch.known, Unknown: ch.unknown}
	for _, j := range dir {
		name := j.Name
		if name == "" {
			name = j.ID
		}
		if !slices.Contains(m.Available, name) && len(m.Available) < protocol.MaxAvailable {
			m.Available = append(m.Available, name)
		}
	}
	return m
}

// works reports whether the seat's contributor works for job.
func (st *seat) works(job string) bool { return st.jobs == nil || st.jobs[job] }

// setChoiceLocked sets st's choice, keeping choosers counted.
func (s *scheduler) setChoiceLocked(st *seat, ch choice) {
	if st.jobs != nil {
		s.choosers--
	}
	st.names, st.jobs = ch.names, ch.jobs
	if st.jobs != nil {
		s.choosers++
	}
}

// choose replaces the jobs sess works for. Tasks it holds are not taken
// back; from now on it is leased tasks of ch's jobs only.
func (s *scheduler) choose(sess *session, ch choice) {
	s.mu.Lock()
	if st, ok := s.sessions[sess]; ok {
		s.setChoiceLocked(st, ch)
		s.wantLocked(sess, st)
	}
	s.mu.Unlock()
	s.fill()
}

// resolveChoices resolves every seat's choice again against dir, after a
// job was added.
func (s *scheduler) resolveChoices(dir []JobRef) {
	s.mu.Lock()
	for sess, st := range s.sessions {
		if st.names != nil {
			s.setChoiceLocked(st, resolveChoice(st.names, dir))
			s.wantLocked(sess, st)
		}
	}
	s.mu.Unlock()
}

// otherNetworkLocked reports whether a contributor outside network ip
// works for job, so that a replica from ip may wait for it.
func (s *scheduler) otherNetworkLocked(ip, job string) bool {
	if len(s.ips) < 2 {
		return false
	}
	if s.choosers == 0 {
		return true
	}
	for sess, st := range s.sessions {
		if sess.remote != ip && st.works(job) {
			return true
		}
	}
	return false
}

// freshTakerLocked reports whether a connected contributor other than
// addr works for job and is neither in bad (it failed the task) nor in
// barred (it holds the task's other execution).
func (s *scheduler) freshTakerLocked(job, addr string, bad, barred []string) bool {
	for sess, st := range s.sessions {
		a := sess.address()
		if a != addr && st.works(job) && !slices.Contains(bad, a) && !slices.Contains(barred, a) {
			return true
		}
	}
	return false
}

// Working returns the addresses connected now that work for job, each
// once.
func (h *Hub) Working(job string) []string {
	s := h.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.addrs))
	seen := make(map[string]bool, len(s.addrs))
	for sess, st := range s.sessions {
		if a := sess.address(); !seen[a] && st.works(job) {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
