package hub

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/internal/httpjson"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// contributor accumulates one address's record across its connections.
type contributor struct {
	address string

	mu          sync.Mutex
	connections int
	agent       string
	device      protocol.DeviceInfo
	remote      string
	firstSeen   time.Time
	lastSeen    time.Time
	nCompleted  uint64
	nRejected   uint64 // results that failed verification
	nRefused    uint64 // results refused for any reason
	flops       float64
	lastRefusal string
	jobs        []string          // the latest connection's choice; nil: every job
	leased      map[string]uint64 // tasks leased, by job
}

// leasedJob counts a task of job leased to the contributor. The scheduler
// calls it with its lock held; c.mu is taken under no other lock.
func (c *contributor) leasedJob(job string) {
	c.mu.Lock()
	if c.leased == nil {
		c.leased = make(map[string]uint64)
	}
	c.leased[job]++
	c.mu.Unlock()
}

// chose records the jobs the contributor's latest connection works for.
func (c *contributor) chose(jobs []string) {
	c.mu.Lock()
	c.jobs = slices.Clone(jobs)
	c.mu.Unlock()
}

func (c *contributor) completed(flops float64) {
	c.mu.Lock()
	c.nCompleted++
	c.flops += flops
	c.lastSeen = time.Now()
	c.mu.Unlock()
}

func (c *contributor) rejected(reason string) {
	c.mu.Lock()
	c.nRejected++
	c.nRefused++
	c.lastRefusal = reason
	c.mu.Unlock()
}

func (c *contributor) refused(reason string) {
	c.mu.Lock()
	c.nRefused++
	c.lastRefusal = reason
	c.mu.Unlock()
}

// attach records a verified connection of hello's address and sets s.who.
func (h *Hub) attach(s *session, hello *protocol.Hello) *contributor {
	addr := common.Address(hello.Address).Hex()
	h.mu.Lock()
	c, ok := h.people[addr]
	if !ok {
		c = &contributor{address: addr, firstSeen: time.Now()}
		h.people[addr] = c
	}
	s.who = c // under h.mu: disconnect reads it
	h.mu.Unlock()
	c.mu.Lock()
	c.connections++
	c.agent, c.device, c.remote, c.lastSeen = hello.Agent, hello.Device, s.remote, time.Now()
	c.jobs = slices.Clone(hello.Jobs)
	c.mu.Unlock()
	return c
}

// detach records that one of the contributor's connections ended.
func (h *Hub) detach(s *session) {
	c := s.who
	c.mu.Lock()
	c.connections--
	c.lastSeen = time.Now()
	c.mu.Unlock()
}

// Status is the JSON document served at GET /api/v1/status.
type Status struct {
	Hub                   string  `json:"hub"`
	ProtocolVersion       int     `json:"protocol_version"`
	UptimeSeconds         float64 `json:"uptime_s"`
	ContributorsConnected int     `json:"contributors_connected"`
	TasksLeased           uint64  `json:"tasks_leased"`
	TasksCompleted        uint64  `json:"tasks_completed"`
	TasksRejected         uint64  `json:"tasks_rejected"`
	TasksExpired          uint64  `json:"tasks_expired"`
	TasksRequeued         uint64  `json:"tasks_requeued"`
	TasksDropped          uint64  `json:"tasks_dropped"`
	TasksQueued           int     `json:"tasks_queued"`
	TasksInFlight         int     `json:"tasks_in_flight"`
	TasksReplicated       uint64  `json:"tasks_replicated"`
	Arbitrations          uint64  `json:"arbitrations"`
	LeaseGrantErrors      uint64  `json:"lease_grant_errors"`
	// TasksComputedHere counts tasks the hub computed itself because no
	// connected contributor of their job might take them (a weight tile
	// every one of them is refused under the job's exposure cap).
	TasksComputedHere uint64              `json:"tasks_computed_by_hub"`
	Contributors      []ContributorStatus `json:"contributors"`
	// Jobs is the training jobs' summary (see hub/train), when any run.
	Jobs any `json:"jobs,omitempty"`
	// BuiltinJobs are the jobs the hub runs itself (the matmul benchmark),
	// which contributors may choose like the training jobs.
	BuiltinJobs []JobRef `json:"builtin_jobs,omitempty"`
}

// ContributorStatus is one contributor's row in Status.
type ContributorStatus struct {
	Address        string    `json:"address"`
	Connected      bool      `json:"connected"`
	Connections    int       `json:"connections"`
	Agent          string    `json:"agent"`
	Backend        string    `json:"backend"`
	Adapter        string    `json:"adapter"`
	AdapterType    string    `json:"adapter_type"`
	Variant        string    `json:"variant"`
	Remote         string    `json:"remote"`
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
	TasksCompleted uint64    `json:"tasks_completed"`
	TasksRejected  uint64    `json:"tasks_rejected"`
	ResultsRefused uint64    `json:"results_refused"`
	GFLOP          float64   `json:"gflop"`
	LastRefusal    string    `json:"last_refusal,omitempty"`
	// Jobs are the jobs its latest connection chose, as it named them;
	// absent when it works for every job.
	Jobs []string `json:"jobs,omitempty"`
	// LeasedByJob counts the tasks leased to it, by job ID.
	LeasedByJob map[string]uint64 `json:"leased_by_job,omitempty"`
}

// Status returns a snapshot of the hub's progress.
func (h *Hub) Status() Status {
	cnt, queued, inFlight := h.sched.snapshot()
	st := Status{
		Hub:               h.cfg.Name,
		ProtocolVersion:   protocol.Version,
		UptimeSeconds:     time.Since(h.started).Seconds(),
		TasksLeased:       cnt.Leased,
		TasksCompleted:    cnt.Completed,
		TasksRejected:     cnt.Rejected,
		TasksExpired:      cnt.Expired,
		TasksRequeued:     cnt.Requeued,
		TasksDropped:      cnt.Dropped,
		TasksQueued:       queued,
		TasksInFlight:     inFlight,
		TasksReplicated:   cnt.Replicas,
		Arbitrations:      h.arbitrations.Load(),
		LeaseGrantErrors:  cnt.GrantErrors,
		TasksComputedHere: cnt.ComputedHere,
		Contributors:      []ContributorStatus{},
	}
	h.mu.Lock()
	jobs := h.jobsStatus
	people := make([]*contributor, 0, len(h.people))
	for _, c := range h.people {
		people = append(people, c)
	}
	h.mu.Unlock()
	for _, c := range people {
		c.mu.Lock()
		row := ContributorStatus{
			Address: c.address, Connected: c.connections > 0, Connections: c.connections,
			Agent: c.agent, Backend: c.device.Backend, Adapter: c.device.Adapter,
			AdapterType: c.device.AdapterType, Variant: c.device.Variant, Remote: c.remote,
			FirstSeen: c.firstSeen, LastSeen: c.lastSeen,
			TasksCompleted: c.nCompleted, TasksRejected: c.nRejected, ResultsRefused: c.nRefused,
			GFLOP: c.flops / 1e9, LastRefusal: c.lastRefusal,
			Jobs: slices.Clone(c.jobs), LeasedByJob: maps.Clone(c.leased),
		}
		c.mu.Unlock()
		if row.Connected {
			st.ContributorsConnected++
		}
		st.Contributors = append(st.Contributors, row)
	}
	sort.Slice(st.Contributors, func(i, j int) bool { return st.Contributors[i].Address < st.Contributors[j].Address })
	if jobs != nil {
		st.Jobs = jobs()
	}
	if h.matmul != nil {
		st.BuiltinJobs = []JobRef{matmulRef(h.matmul)}
	}
	return st
}

func (h *Hub) serveStatus(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, h.Status())
}

// metricsSnapshot returns what the metrics report of the scheduler.
func (s *scheduler) metricsSnapshot() metrics.Tasks {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	return metrics.Tasks{
		Connections: len(s.sessions),
		Leased:      c.Leased, Completed: c.Completed, Expired: c.Expired, Requeued: c.Requeued, Dropped: c.Dropped,
		Replicated: c.Replicas, GrantErrors: s.grantErrors, ComputedHere: c.ComputedHere,
		Queued: len(s.queue), InFlight: len(s.leases),
	}
}

// snapshot returns the counters and queue length.
func (s *scheduler) snapshot() (counters, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.GrantErrors = s.grantErrors
	return c, len(s.queue), len(s.leases)
}
