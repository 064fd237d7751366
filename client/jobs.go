package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// CheckJobs validates a choice of jobs (Config.Jobs, SetJobs) and returns
// it without duplicates, in the order given: at most protocol.MaxJobs
// names, each a job ID or name of 1 to protocol.MaxJobName bytes with no
// surrounding spaces or control characters. Nil or empty means every job.
func CheckJobs(jobs []string) ([]string, error) {
	var out []string
	for _, j := range jobs {
		switch {
		case j == "":
			return nil, fmt.Errorf("a job name is empty")
		case len(j) > protocol.MaxJobName:
			return nil, fmt.Errorf("job name %.20q... is %d bytes, more than the %d allowed", j, len(j), protocol.MaxJobName)
		case strings.TrimSpace(j) != j:
			return nil, fmt.Errorf("job name %q has surrounding spaces", j)
		case strings.ContainsFunc(j, func(r rune) bool { return r < ' ' || r == 0x7f }):
			return nil, fmt.Errorf("job name %q has control characters", j)
		}
		if !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	if len(out) > protocol.MaxJobs {
		return nil, fmt.Errorf("%d jobs chosen, more than the %d a contributor may name (choose none to work for every job)", len(out), protocol.MaxJobs)
	}
	return out, nil
}

// SetJobs changes the jobs the client works for (nil: every job). A
// connected client tells the hub at once (protocol.Choose), without
// reconnecting; the tasks it holds are finished either way. The hub's
// answer shows in Stats (JobsUnknown, JobsNote).
func (c *Client) SetJobs(jobs []string) error {
	jobs, err := CheckJobs(jobs)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	c.update(func(s *Stats) {
		s.Jobs = jobs
		s.JobsUnknown, s.JobsNote = nil, ""
	})
	select {
	case c.chooseJobs <- struct{}{}:
	default: // a change is already waiting to be sent: it will send these
	}
	return nil
}

// jobs returns the current choice.
func (c *Client) jobs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats.Jobs
}

// chosen records the hub's answer to the client's choice.
func (c *Client) chosen(m *protocol.Chosen) {
	note := jobsNote(m)
	if note != "" {
		c.log.Warn("the hub does not know some chosen jobs", "unknown", m.Unknown, "working_for", m.Jobs, "hub_jobs", m.Available)
	} else {
		c.log.Info("working for the chosen jobs", "jobs", m.Jobs)
	}
	c.update(func(s *Stats) {
		s.JobsUnknown, s.HubJobs, s.JobsNote = m.Unknown, m.Available, note
	})
}

// jobsNote explains unknown names in a choice to a person; "" when the
// hub knows every name.
func jobsNote(m *protocol.Chosen) string {
	if len(m.Unknown) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("the hub has no job named ")
	for i, u := range m.Unknown {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "%q", u)
	}
	if len(m.Available) > 0 {
		fmt.Fprintf(&b, " (its jobs: %s)", strings.Join(m.Available, ", "))
	}
	if len(m.Jobs) == 0 {
		b.WriteString("; none of the chosen jobs exists there, so no task comes until one does")
	} else {
		fmt.Fprintf(&b, "; working for %s only", strings.Join(m.Jobs, ", "))
	}
	return b.String()
}
