package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
)

// startChooser runs a real client that works for jobs, dialing through
// dials (counted) when it is not nil.
func startChooser(tb testing.TB, th *testHub, jobs []string, dials *atomic.Int64) *client.Client {
	tb.Helper()
	key, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots, cfg.Jobs = th.ws, key, device.CPU{}, 2, jobs
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	cfg.Logger = slog.New(slog.DiscardHandler)
	if dials != nil {
		cfg.Dial = func(ctx context.Context, url string) (client.Conn, error) {
			dials.Add(1)
			return client.Dial(ctx, url)
		}
	}
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return c
}

// mustRow returns addr's row of the hub's status.
func mustRow(tb testing.TB, th *testHub, addr string) hub.ContributorStatus {
	tb.Helper()
	r, ok := row(getStatus(tb, th), addr)
	if !ok {
		tb.Fatalf("status has no row for %s", addr)
	}
	return r
}

// TestChooseJobsTwoJobsTwoContributors runs two training jobs (a real
// manager on a real SQLite store) and the matmul job on one hub, with two
// contributors that each chose one training job, one by name and one by
// ID: each is leased its job's tiles only, both jobs train, and the
// matmul job, which neither chose, gets nothing done.
func TestChooseJobsTwoJobsTwoContributors(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	th := startHub(t, func(c *hub.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	mgr := train.NewManager(th.Hub, db, train.ManagerConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); mgr.Wait(); db.Close() })
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, name := range []string{"alpha", "beta"} {
		spec := train.MNISTSpec()
		spec.Name, spec.Model.Layers, spec.TileCols, spec.BatchSize = name, []int{784, 16, 10}, 8, 16
		spec.MaxSteps, spec.EvalEvery, spec.CheckpointEvery, spec.TargetAccuracy, spec.ExposureCap = 1000, 1000, 1000, 0, 1
		id, err := mgr.Create(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	a := startChooser(t, th, []string{"alpha"}, nil)
	b := startChooser(t, th, []string{ids["beta"]}, nil)
	waitFor(t, "both jobs to train 3 steps", 60*time.Second, func() bool {
		n := 0
		for _, st := range mgr.Statuses() {
			if st.Step >= 3 {
				n++
			}
		}
		return n == 2
	})
	for c, want := range map[*client.Client]string{a: ids["alpha"], b: ids["beta"]} {
		r := mustRow(t, th, c.Stats().Address)
		if got := slices.Collect(maps.Keys(r.LeasedByJob)); len(got) != 1 || got[0] != want || r.LeasedByJob[want] == 0 {
			t.Errorf("%s chose %v and was leased tasks of %v, want only of %s", r.Address, r.Jobs, r.LeasedByJob, want)
		}
		if s := c.Stats(); s.JobsNote != "" || len(s.JobsUnknown) != 0 {
			t.Errorf("%s: the hub reported unknown jobs: %q", r.Address, s.JobsNote)
		}
	}
	if r := mustRow(t, th, a.Stats().Address); !slices.Equal(r.Jobs, []string{"alpha"}) {
		t.Errorf("status shows a's choice as %v, want [alpha]", r.Jobs)
	}
	if n := th.Matmul().Completed(); n != 0 {
		t.Errorf("%d matmul tasks done, though no contributor chose the matmul job", n)
	}
	if st := getStatus(t, th); len(st.BuiltinJobs) != 1 || st.BuiltinJobs[0].ID != "matmul" {
		t.Errorf("status lists built-in jobs %+v, want the matmul job", st.BuiltinJobs)
	}
}

// TestChooseUnknownJob: a contributor naming a job the hub does not have
// is accepted, told which names are unknown and which jobs exist, and
// works for the jobs it named that do exist; one that named only unknown
// jobs stays connected and gets nothing.
func TestChooseUnknownJob(t *testing.T) {
	th := startHub(t, func(c *hub.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	some := startChooser(t, th, []string{"no-such-model", "matmul"}, nil)
	none := startChooser(t, th, []string{"gocode-llm"}, nil)
	waitFor(t, "the hub's answer and 5 accepted results", 10*time.Second, func() bool {
		return some.Stats().JobsNote != "" && some.Stats().Accepted >= 5 && none.Stats().JobsNote != ""
	})
	for _, tc := range []struct {
		c    *client.Client
		want []string
	}{
		{some, []string{`no job named "no-such-model"`, "its jobs: matmul", "working for matmul only"}},
		{none, []string{`no job named "gocode-llm"`, "its jobs: matmul", "no task comes until one does"}},
	} {
		s := tc.c.Stats()
		for _, w := range tc.want {
			if !strings.Contains(s.JobsNote, w) {
				t.Errorf("note %q lacks %q", s.JobsNote, w)
			}
		}
		if !s.Connected || s.State != client.StateWorking {
			t.Errorf("%s is %s (connected %v, error %q); the hub must accept it", s.Address, s.State, s.Connected, s.LastError)
		}
	}
	if s := none.Stats(); s.TasksDone != 0 || len(mustRow(t, th, s.Address).LeasedByJob) != 0 {
		t.Errorf("the contributor that chose only an unknown job did %d tasks", s.TasksDone)
	}
	if r := mustRow(t, th, some.Stats().Address); !slices.Equal(r.Jobs, []string{"no-such-model", "matmul"}) {
		t.Errorf("status shows the choice as %v", r.Jobs)
	}
}

// TestChooseJobsWithoutReconnecting: SetJobs on a connected client
// changes what the hub leases it over the same connection.
func TestChooseJobsWithoutReconnecting(t *testing.T) {
	th := startHub(t, func(c *hub.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	var dials atomic.Int64
	c := startChooser(t, th, []string{"nothing-yet"}, &dials)
	waitFor(t, "the hub's answer", 10*time.Second, func() bool { return c.Stats().JobsNote != "" })
	if err := c.SetJobs([]string{"matmul"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 accepted results", 10*time.Second, func() bool { return c.Stats().Accepted >= 5 })
	if n := dials.Load(); n != 1 {
		t.Errorf("the client dialed %d times; a new choice must not reconnect", n)
	}
	r := mustRow(t, th, c.Stats().Address)
	if !slices.Equal(r.Jobs, []string{"matmul"}) || r.LeasedByJob["matmul"] == 0 || r.Connections != 1 {
		t.Errorf("status row after the change: jobs %v, leases %v, connections %d", r.Jobs, r.LeasedByJob, r.Connections)
	}
	if s := c.Stats(); s.JobsNote != "" || !slices.Equal(s.Jobs, []string{"matmul"}) {
		t.Errorf("stats after the change: jobs %v, note %q", s.Jobs, s.JobsNote)
	}
	for _, bad := range [][]string{{""}, {" matmul"}, {strings.Repeat("x", 129)}, func() []string {
		var many []string
		for i := range 17 {
			many = append(many, fmt.Sprint("job-", i))
		}
		return many
	}()} {
		if err := c.SetJobs(bad); err == nil {
			t.Errorf("SetJobs(%q) accepted", bad)
		}
	}
}
