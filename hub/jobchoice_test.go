package hub

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

// dir is a job directory of two training jobs and the matmul job.
var testDir = []JobRef{
	{ID: "matmul", Name: "matmul", Model: "benchmark"},
	{ID: "job-aaaa", Name: "alpha", Model: "mlp"},
	{ID: "job-bbbb", Name: "beta", Model: "gpt2"},
}

func TestResolveChooseJobs(t *testing.T) {
	for _, tc := range []struct {
		name           string
		names          []string
		jobs           []string // nil: every job
		known, unknown []string
	}{
		{"All", nil, nil, nil, nil},
		{"ByName", []string{"alpha"}, []string{"job-aaaa"}, []string{"alpha"}, nil},
		{"ByID", []string{"job-bbbb", "matmul"}, []string{"job-bbbb", "matmul"}, []string{"job-bbbb", "matmul"}, nil},
		{"Unknown", []string{"gamma", "alpha"}, []string{"job-aaaa"}, []string{"alpha"}, []string{"gamma"}},
		{"OnlyUnknown", []string{"gamma"}, []string{}, nil, []string{"gamma"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := resolveChoice(tc.names, testDir)
			if (ch.jobs == nil) != (tc.jobs == nil) {
				t.Fatalf("jobs %v, want %v", ch.jobs, tc.jobs)
			}
			for _, j := range testDir {
				if ch.jobs != nil && ch.jobs[j.ID] != slices.Contains(tc.jobs, j.ID) {
					t.Errorf("job %s chosen: %v, want %v", j.ID, ch.jobs[j.ID], !ch.jobs[j.ID])
				}
			}
			if !slices.Equal(ch.known, tc.known) || !slices.Equal(ch.unknown, tc.unknown) {
				t.Errorf("known %v unknown %v, want %v %v", ch.known, ch.unknown, tc.known, tc.unknown)
			}
			m := chosenMessage(ch, testDir)
			if !slices.Equal(m.Available, []string{"matmul", "alpha", "beta"}) {
				t.Errorf("available %v", m.Available)
			}
		})
	}
}

// recv returns the task leased to sess, or nil.
func recv(sess *session) *Task {
	select {
	case f := <-sess.send:
		return f.lease.task
	default:
		return nil
	}
}

// drainTasks completes every task leased to sessions and returns them by
// session, until no more are leased.
func drainTasks(tb testing.TB, s *scheduler, sessions ...*session) map[*session][]*Task {
	tb.Helper()
	got := map[*session][]*Task{}
	for progress := true; progress; {
		progress = false
		for _, sess := range sessions {
			for t := recv(sess); t != nil; t = recv(sess) {
				progress = true
				got[sess] = append(got[sess], t)
				if _, err := s.take(sess, t.ID); err != nil {
					tb.Fatal(err)
				}
				s.finish(sess, t, true)
			}
		}
	}
	return got
}

// TestChooseJobsLeasesOnlyChosen: contributors that chose a job get only
// its tasks; one that chose nothing gets any; every task is done.
func TestChooseJobsLeasesOnlyChosen(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	srcA, srcB := newHammerSource("job-aaaa", 50), newHammerSource("job-bbbb", 50)
	s.addSource(srcA, false)
	s.addSource(srcB, false)
	a, b, all := newFakeSession(h, "0xa", 64), newFakeSession(h, "0xb", 64), newFakeSession(h, "0xc", 64)
	s.joinChoosing(a, 2, resolveChoice([]string{"alpha"}, testDir))
	s.joinChoosing(b, 2, resolveChoice([]string{"job-bbbb"}, testDir))
	got := drainTasks(t, s, a, b)
	for sess, want := range map[*session]string{a: "job-aaaa", b: "job-bbbb"} {
		if len(got[sess]) != 50 {
			t.Errorf("%s got %d tasks, want all 50 of %s", sess.address(), len(got[sess]), want)
		}
		for _, task := range got[sess] {
			if task.Job != want {
				t.Fatalf("%s, which chose %s, was leased task %d of %s", sess.address(), want, task.ID, task.Job)
			}
		}
	}
	s.leave(a)
	s.leave(b)
	srcA.limit, srcB.limit = 60, 60
	s.join(all, 4)
	if n := len(drainTasks(t, s, all)[all]); n != 20 {
		t.Errorf("the contributor that chose nothing got %d tasks, want the 20 left", n)
	}
	if leased := a.who.leased["job-aaaa"] + b.who.leased["job-bbbb"]; leased != 100 || len(a.who.leased) != 1 || len(b.who.leased) != 1 {
		t.Errorf("leases by job: a %v, b %v", a.who.leased, b.who.leased)
	}
}

// TestChooseJobsNobodyChoseWaits: a job nobody connected works for is not
// asked for tasks (an endless source stays untouched), and tasks of it
// already queued (left by a contributor that went away) neither spin nor
// hold up the chosen job's tasks behind them.
func TestChooseJobsNobodyChoseWaits(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	endless := newHammerSource("matmul", 1<<30)
	s.addSource(endless, true)
	z := newFakeSession(h, "0xz", 2*maxScan)
	s.join(z, 2*maxScan) // holds more unchosen tasks than a scan looks at
	s.leave(z)
	_, queued, _ := s.snapshot()
	if queued < maxScan+1 {
		t.Fatalf("%d tasks queued after the all-jobs contributor left; want more than %d", queued, maxScan)
	}
	issued := len(endless.issued)
	chosen := newHammerSource("job-aaaa", 5)
	s.addSource(chosen, false)
	a := newFakeSession(h, "0xa", 64)
	s.joinChoosing(a, 1, resolveChoice([]string{"alpha"}, testDir))
	for range 100 {
		s.fill()
	}
	if n := len(drainTasks(t, s, a)[a]); n != 5 {
		t.Fatalf("the contributor that chose alpha got %d of its 5 tasks behind %d unchosen ones", n, queued)
	}
	if len(endless.issued) != issued {
		t.Errorf("the job nobody chose was asked for %d more tasks", len(endless.issued)-issued)
	}
	if _, q, _ := s.snapshot(); q != queued {
		t.Errorf("%d tasks queued, want the %d unchosen ones still waiting", q, queued)
	}
}

// TestChooseJobsReplicas: a replica goes only to a contributor that chose
// the task's job; with none, the task is not replicated (as with a lone
// contributor) rather than left pending.
func TestChooseJobsReplicas(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	s.replication = func(string) float64 { return 1 }
	a, other := newFakeSession(h, "0xa", 64), newFakeSession(h, "0xb", 64)
	s.joinChoosing(a, 1, resolveChoice([]string{"alpha"}, testDir))
	s.joinChoosing(other, 1, resolveChoice([]string{"beta"}, testDir))
	s.addSource(newHammerSource("job-aaaa", 1), false)
	if task := recv(a); task == nil || task.group != nil {
		t.Fatalf("a got %v; want the task, unreplicated", task)
	}
	if c, _, _ := s.snapshot(); c.Replicas != 0 {
		t.Fatalf("%d replicas made with nobody else working for the job", c.Replicas)
	}
	if task := recv(other); task != nil {
		t.Fatalf("b, which chose beta, got task %d of %s", task.ID, task.Job)
	}
	// A second contributor of alpha gets the replica of the next task.
	b2 := newFakeSession(h, "0xc", 64)
	s.joinChoosing(b2, 1, resolveChoice([]string{"job-aaaa"}, testDir))
	s.addSource(newHammerSource("job-aaaa", 1), false)
	got := drainTasks(t, s, a, other, b2)
	if len(got[other]) != 0 || len(got[b2]) == 0 {
		t.Fatalf("tasks: a %d, beta's contributor %d, alpha's second %d", len(got[a]), len(got[other]), len(got[b2]))
	}
	if c, _, _ := s.snapshot(); c.Replicas != 1 {
		t.Fatalf("%d replicas, want 1", c.Replicas)
	}
}

// TestChooseJobsAvoidanceNotStranded: a task whose lease a contributor
// let expire goes back to it when the only other contributor does not
// work for its job.
func TestChooseJobsAvoidanceNotStranded(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	var clock time.Duration
	s.now = func() time.Time { return time.Unix(0, 0).Add(clock) }
	a, other := newFakeSession(h, "0xa", 64), newFakeSession(h, "0xb", 64)
	s.joinChoosing(a, 1, resolveChoice([]string{"alpha"}, testDir))
	s.joinChoosing(other, 1, resolveChoice([]string{"beta"}, testDir))
	s.addSource(newHammerSource("job-aaaa", 1), false)
	first := recv(a)
	if first == nil {
		t.Fatal("a got no task")
	}
	clock += 2 * time.Minute
	s.expire()
	if again := recv(a); again == nil || again.ID != first.ID {
		t.Fatalf("a got %v after its lease expired; want task %d back (nobody else works for alpha)", again, first.ID)
	}
}

// TestChooseJobsChange: a new choice takes effect without reconnecting,
// and a name unknown when chosen counts once a job of that name is added.
func TestChooseJobsChange(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	s.addSource(newHammerSource("job-aaaa", 3), false)
	a := newFakeSession(h, "0xa", 64)
	s.joinChoosing(a, 1, resolveChoice([]string{"gamma"}, testDir))
	if task := recv(a); task != nil {
		t.Fatalf("a chose only an unknown job and got task %d of %s", task.ID, task.Job)
	}
	s.choose(a, resolveChoice([]string{"alpha"}, testDir))
	if n := len(drainTasks(t, s, a)[a]); n != 3 {
		t.Fatalf("after choosing alpha a got %d of its 3 tasks", n)
	}
	// gamma appears: the hub resolves choices again when a source is added.
	s.choose(a, resolveChoice([]string{"gamma"}, testDir))
	dir := append(slices.Clone(testDir), JobRef{ID: "job-cccc", Name: "gamma"})
	s.resolveChoices(dir)
	s.addSource(newHammerSource("job-cccc", 2), false)
	s.addSource(newHammerSource("job-aaaa", 2), false)
	got := drainTasks(t, s, a)[a]
	if len(got) != 2 || got[0].Job != "job-cccc" || got[1].Job != "job-cccc" {
		t.Fatalf("a, which chose gamma, got %d tasks: %v", len(got), got)
	}
	s.choose(a, choice{})
	if n := len(drainTasks(t, s, a)[a]); n != 2 {
		t.Fatalf("after choosing every job a got %d of alpha's 2 tasks", n)
	}
	if s.choosers != 0 {
		t.Fatalf("choosers = %d with nobody choosing", s.choosers)
	}
}
