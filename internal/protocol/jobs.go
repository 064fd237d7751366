package protocol

// Limits of a contributor's choice of jobs.
const (
	// MaxJobs is the most jobs a Hello or a Choose may name; naming none
	// chooses every job, however many the hub runs.
	MaxJobs = 16
	// MaxJobName is the longest job ID or name on the wire, in bytes (the
	// hub's job names are at most as long).
	MaxJobName = 128
	// MaxAvailable is the most job names a Chosen lists in Available.
	MaxAvailable = 64
)

// Choose replaces the choice of jobs a contributor's Hello made, without
// reconnecting: from now on the hub leases it tasks of these jobs only
// (each named by ID or by name; empty means every job). Tasks already
// leased are not taken back. The hub answers with a Chosen.
type Choose struct {
	Jobs []string
}

// Kind implements Message.
func (*Choose) Kind() Kind { return KindChoose }

func (m *Choose) appendBody(dst []byte) []byte { return appendJobs(dst, m.Jobs, MaxJobs) }

func (m *Choose) decodeBody(r *reader) error {
	m.Jobs = r.jobs("jobs", 0, MaxJobs)
	return nil
}

// Chosen is the hub's answer to a choice of jobs (a Hello that named
// jobs, or a Choose): Jobs are the chosen names the hub knows, Unknown
// those it does not, and Available names the jobs it runs, so that a
// contributor can tell its owner what to choose instead. The hub leases
// tasks of the known jobs only; a name it learns later (a job created
// after the choice) starts counting then.
type Chosen struct {
	Jobs      []string
	Unknown   []string
	Available []string
}

// Kind implements Message.
func (*Chosen) Kind() Kind { return KindChosen }

func (m *Chosen) appendBody(dst []byte) []byte {
	dst = appendJobs(dst, m.Jobs, MaxJobs)
	dst = appendJobs(dst, m.Unknown, MaxJobs)
	return appendJobs(dst, m.Available, MaxAvailable)
}

func (m *Chosen) decodeBody(r *reader) error {
	m.Jobs = r.jobs("jobs", 0, MaxJobs)
	m.Unknown = r.jobs("unknown jobs", 0, MaxJobs)
	m.Available = r.jobs("available jobs", 0, MaxAvailable)
	return nil
}

// appendJobs appends a list of job names: a count byte, then each name as
// a string. Empty names, which decoders refuse, are left out; names past
// max, and bytes past MaxJobName, are cut.
func appendJobs(dst []byte, jobs []string, max int) []byte {
	jobs = cleanJobs(jobs, max)
	dst = append(dst, byte(len(jobs)))
	for _, j := range jobs {
		dst = appendStr(dst, j, MaxJobName)
	}
	return dst
}

// cleanJobs returns the first max non-empty names of jobs.
func cleanJobs(jobs []string, max int) []string {
	var out []string
	for i, j := range jobs {
		if j == "" {
			if out == nil {
				out = append(make([]string, 0, len(jobs)), jobs[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, j)
		}
	}
	if out == nil {
		out = jobs
	}
	return out[:min(len(out), max)]
}

// jobs reads a list written by appendJobs, refusing fewer than least or
// more than most names and empty ones. An empty list decodes as nil.
func (r *reader) jobs(what string, least, most int) []string {
	n := int(r.u8(what + " count"))
	if r.err != nil {
		return nil
	}
	if n < least || n > most {
		r.fail("%d %s: want %d to %d", n, what, least, most)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		s := r.str(what, MaxJobName)
		if r.err != nil {
			return nil
		}
		if s == "" {
			r.fail("an empty name in %s", what)
			return nil
		}
		out = append(out, s)
	}
	return out
}
