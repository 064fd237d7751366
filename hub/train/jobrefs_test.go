package train

import (
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub"
)

// TestJobRefsSorted: the jobs contributors may choose (running and
// broken alike) come out by ID whatever the maps' order, because the hub
// names them to contributors in this order and cuts the list at
// protocol.MaxAvailable.
func TestJobRefsSorted(t *testing.T) {
	m := &Manager{runs: map[string]*run{}, broken: map[string]JobStatus{}}
	var want []hub.JobRef
	for _, id := range []string{"job-e", "job-a", "job-d", "job-b"} {
		spec := MNISTSpec()
		spec.Name = "n-" + id
		m.runs[id] = &run{job: &Job{ID: id, Spec: spec}}
		want = append(want, hub.JobRef{ID: id, Name: spec.Name, Model: "mlp"})
	}
	m.broken["job-c"] = JobStatus{ID: "job-c", Name: "lost", Model: "gpt2"}
	want = append(want, hub.JobRef{ID: "job-c", Name: "lost", Model: "gpt2"})
	slices.SortFunc(want, func(a, b hub.JobRef) int { return strings.Compare(a.ID, b.ID) })
	for range 20 { // map order changes from call to call
		if got := m.jobRefs(); !slices.Equal(got, want) {
			t.Fatalf("jobRefs %v, want %v", got, want)
		}
	}
}
