package e2e

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// The decentralisation benchmarks train the default MNIST model (MNISTSpec:
// 784-256-256-10, Adam, batch 128, 32-column tiles) locally with the
// reference trainer and through a real hub with benchContributors
// in-process native clients on loopback, in the same run, and compare
// time per step, bytes on the wire and accuracy. The work is fixed: b.N is
// ignored, run them with -benchtime 1x. The WebGPU variants need an
// adapter (lavapipe: VK_ICD_FILENAMES=.../lvp_icd.x86_64.json) and are
// skipped without one.
const (
	benchContributors = 4
	benchSlots        = 2 // tessera-edge's default
	// overheadSteps are trained for BenchmarkTrainingOverhead; the first
	// overheadWarm are not timed (pipeline compilation, first buffers).
	overheadSteps = 120
	overheadWarm  = 20
	// overheadRounds is how many times each of the two is trained.
	overheadRounds = 3
	// accuracySteps are trained for BenchmarkAccuracyVsSteps, evaluated
	// every accuracyEvery steps.
	accuracySteps = 600
	accuracyEvery = 100
	// stageSteps are trained for BenchmarkTrainingStages.
	stageSteps = 40
)

// benchBackends are the contributors' backends the distributed runs use.
var benchBackends = []string{"cpu", "webgpu"}

// benchSpec is MNISTSpec trained for exactly steps steps, evaluated every
// evalEvery steps.
func benchSpec(steps, evalEvery int) train.Spec {
	s := train.MNISTSpec()
	s.Name = "bench-mnist"
	s.MaxSteps = steps
	s.TargetAccuracy = 0 // never stop early
	s.EvalEvery = evalEvery
	if v := os.Getenv(tileColsEnv); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			s.TileCols = n
		}
	}
	if v := os.Getenv(wireEnv); v != "" {
		s.WireDType = v
	}
	return s
}

// wireEnv, when set, overrides the spec's wire_dtype ("float32" or
// "bfloat16"), to compare accuracy and bytes both ways.
const wireEnv = "TESSERA_BENCH_WIRE_DTYPE"

// tileColsEnv, when set, overrides the spec's tile width, to measure the
// effect of wider or narrower tiles.
const tileColsEnv = "TESSERA_BENCH_TILE_COLS"

// stepMark is the state of a run just after a step: when it ended, and
// the totals of wire bytes, tasks and device time up to then.
type stepMark struct {
	at    time.Time
	bytes int64
	tasks uint64
	busy  time.Duration
	cpu   time.Duration // this process's CPU time, all threads
}

// trainRun is the outcome of one training run.
type trainRun struct {
	marks   map[int]stepMark // by steps done
	history []store.Point
}

// perStep returns the mean wall time, wire bytes, tasks and device time per
// step between steps from and to.
func (r *trainRun) perStep(tb testing.TB, from, to int) (took time.Duration, bytes, tasks float64, busy, cpu time.Duration) {
	tb.Helper()
	a, okA := r.marks[from]
	z, okZ := r.marks[to]
	if !okA || !okZ {
		tb.Fatalf("no mark at step %d or %d", from, to)
	}
	n := to - from
	return z.at.Sub(a.at) / time.Duration(n), float64(z.bytes-a.bytes) / float64(n),
		float64(z.tasks-a.tasks) / float64(n), (z.busy - a.busy) / time.Duration(n), (z.cpu - a.cpu) / time.Duration(n)
}

// processCPU returns the CPU time this process has used, user and system,
// on all its threads (lavapipe's included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// trainLocal runs spec with the reference trainer (train.TrainLocal,
// GOMAXPROCS workers).
func trainLocal(tb testing.TB, spec train.Spec) *trainRun {
	tb.Helper()
	data := benchMNIST(tb)
	r := &trainRun{marks: map[int]stepMark{}}
	r.marks[0] = stepMark{at: time.Now(), cpu: processCPU()}
	var hist []store.Point
	var err error
	pprof.Do(context.Background(), pprof.Labels("role", "local"), func(ctx context.Context) {
		_, hist, err = train.TrainLocal(ctx, spec, data, train.LocalOptions{
			Dir:    tb.TempDir(),
			OnStep: func(step int, _ float64) { r.marks[step] = stepMark{at: time.Now(), cpu: processCPU()} },
			Logger: benchLog,
		})
	})
	if err != nil {
		tb.Fatalf("local training: %v", err)
	}
	r.history = hist
	return r
}

// markPoll is how often trainDistributed samples the job's step; it bounds
// the error of each step's time.
const markPoll = time.Millisecond

// benchSwarm is an in-process hub with benchContributors clients of one
// backend, all of them the operator's own workers (exempt from the
// exposure cap), that trains one job after another.
type benchSwarm struct {
	bh *benchHub
	cs []*client.Client
}

func startSwarm(tb testing.TB, backendName string) *benchSwarm {
	tb.Helper()
	keys, addrs := benchKeys(tb, benchContributors)
	bh := startBenchHub(tb, addrs)
	return &benchSwarm{bh: bh, cs: startBenchClients(tb, bh, keys, backendName, benchSlots)}
}

// train runs spec as a new job on the swarm until it is done.
func (sw *benchSwarm) train(tb testing.TB, spec train.Spec) *trainRun {
	tb.Helper()
	ctx := context.Background()
	var id string
	var err error
	// The job's goroutine inherits the label.
	pprof.Do(ctx, pprof.Labels("role", "trainer"), func(ctx context.Context) { id, err = sw.bh.mgr.Create(ctx, spec) })
	if err != nil {
		tb.Fatalf("create job: %v", err)
	}
	r := &trainRun{marks: map[int]stepMark{}}
	mark := func() stepMark {
		tasks, busy := clientTotals(sw.cs)
		return stepMark{at: time.Now(), bytes: sw.bh.wire.bytes.Load(), tasks: tasks, busy: busy, cpu: processCPU()}
	}
	r.marks[0] = mark()
	deadline := time.Now().Add(15 * time.Minute)
	for {
		st := jobStatus(tb, sw.bh.mgr, id)
		if _, seen := r.marks[st.Step]; !seen {
			r.marks[st.Step] = mark()
		}
		if st.State == store.StateDone {
			break
		}
		if st.State == store.StateFailed {
			tb.Fatalf("job failed at step %d: %s", st.Step, st.Error)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("job stuck at step %d", st.Step)
		}
		time.Sleep(markPoll)
	}
	if r.history, err = sw.bh.db.History(ctx, id); err != nil {
		tb.Fatal(err)
	}
	var refused uint64
	for _, c := range sw.cs {
		refused += c.Stats().Refused
	}
	if refused != 0 {
		tb.Errorf("%d results from honest clients refused", refused)
	}
	return r
}

func jobStatus(tb testing.TB, m *train.Manager, id string) train.JobStatus {
	tb.Helper()
	for _, st := range m.Statuses() {
		if st.ID == id {
			return st
		}
	}
	tb.Fatalf("job %s vanished", id)
	return train.JobStatus{}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkTrainingOverhead measures the decentralisation overhead: time
// per training step with benchContributors native clients on loopback
// over the reference trainer's time per step, in the same run, for each
// client backend. Goal: at most 1.5x. It also measures the bytes that
// cross the hub's websocket connections (both ways, framing included) per
// step and per useful GFLOP (Trainer.StepFLOPs, the step's matmul work).
//
// Metrics, from the fastest of overheadRounds rounds of each (the machine
// may be shared): local_ms/step, dist_ms/step, dist/local, B/step,
// B/GFLOP, tasks/step, device_ms/step (the clients' summed device time),
// local_cpu_ms/step and dist_cpu_ms/step (CPU time of the whole process, hub
// and clients included: with 2 cores, a step that uses less than twice
// its wall time in CPU leaves cores idle).
//
// Goroutines carry pprof labels (role=local, trainer, hub, client), so
// that a -cpuprofile can be split with pprof's -tagfocus.
func BenchmarkTrainingOverhead(b *testing.B) {
	spec := benchSpec(overheadSteps, overheadSteps)
	tr, err := train.NewTrainer(spec)
	if err != nil {
		b.Fatal(err)
	}
	gflop := tr.StepFLOPs(spec.BatchSize) / 1e9
	for _, name := range benchBackends {
		b.Run(name, func(b *testing.B) {
			sw := startSwarm(b, name)
			// Rounds alternate local and distributed runs so that both see
			// the same load on the machine; the fastest round of each
			// counts.
			var best [2]struct {
				step, cpu, busy time.Duration
				bytes, tasks    float64
			}
			for round := range overheadRounds {
				for i, run := range []func() *trainRun{
					func() *trainRun { return trainLocal(b, spec) },
					func() *trainRun { return sw.train(b, spec) },
				} {
					r := run()
					step, bytes, tasks, busy, cpu := r.perStep(b, overheadWarm, overheadSteps)
					b.Logf("round %d %-5s %6.1f ms/step, %6.1f CPU ms/step, %5.2f MB/step",
						round, [2]string{"local", name}[i], ms(step), ms(cpu), bytes/1e6)
					if round == 0 || step < best[i].step {
						best[i].step, best[i].cpu, best[i].busy, best[i].bytes, best[i].tasks = step, cpu, busy, bytes, tasks
					}
				}
			}
			local, dist := best[0], best[1]
			b.ReportMetric(ms(local.step), "local_ms/step")
			b.ReportMetric(ms(dist.step), "dist_ms/step")
			b.ReportMetric(dist.step.Seconds()/local.step.Seconds(), "dist/local")
			b.ReportMetric(dist.bytes, "B/step")
			b.ReportMetric(dist.bytes/gflop, "B/GFLOP")
			b.ReportMetric(dist.tasks, "tasks/step")
			b.ReportMetric(ms(dist.busy), "device_ms/step")
			b.ReportMetric(ms(local.cpu), "local_cpu_ms/step")
			b.ReportMetric(ms(dist.cpu), "dist_cpu_ms/step")
			b.Logf("%.3f GFLOP/step; local %.1f ms/step (%.2f GFLOP/s), distributed %.1f ms/step (%.2f GFLOP/s)",
				gflop, ms(local.step), gflop/local.step.Seconds(), ms(dist.step), gflop/dist.step.Seconds())
		})
	}
}

// BenchmarkAccuracyVsSteps trains the same spec for accuracySteps steps
// locally and through the hub (clients on WebGPU when an adapter works,
// else on the CPU backend), evaluating every accuracyEvery steps, and logs
// the test accuracies side by side. Same seed, same data order: the runs
// differ only by the contributors' float rounding.
//
// Metrics: local_acc and dist_acc, the final test accuracies.
func BenchmarkAccuracyVsSteps(b *testing.B) {
	steps, every := accuracySteps, accuracyEvery
	if v, err := strconv.Atoi(os.Getenv("TESSERA_BENCH_ACC_STEPS")); err == nil && v > 0 {
		steps, every = v, max(v/20, 1) // e.g. to see when 97% is reached
	}
	spec := benchSpec(steps, every)
	name := "webgpu"
	if dev, err := openDeviceErr(name); err != nil {
		b.Logf("no WebGPU adapter (%v): distributed run on the CPU backend", err)
		name = "cpu"
	} else {
		dev.Close()
	}
	local := trainLocal(b, spec)
	dist := startSwarm(b, name).train(b, spec)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%6s %10s %10s %12s %12s %10s\n", "step", "local_acc", "dist_acc", "local_loss", "dist_loss", "Δloss")
	n := min(len(local.history), len(dist.history))
	for i := range n {
		l, d := local.history[i], dist.history[i]
		if l.Step != d.Step {
			b.Fatalf("evaluations at different steps: %d vs %d", l.Step, d.Step)
		}
		fmt.Fprintf(&sb, "%6d %9.2f%% %9.2f%% %12.6f %12.6f %10.2g\n", l.Step, 100*l.TestAccuracy, 100*d.TestAccuracy,
			l.TestLoss, d.TestLoss, d.TestLoss-l.TestLoss)
	}
	b.Logf("test accuracy against steps, local vs distributed (%d clients, %s backend):\n%s", benchContributors, name, sb.String())
	if n == 0 {
		b.Fatal("no evaluations")
	}
	b.ReportMetric(100*local.history[n-1].TestAccuracy, "local_acc_%")
	b.ReportMetric(100*dist.history[n-1].TestAccuracy, "dist_acc_%")
}

// BenchmarkTrainingStages locates the distributed step time: it drives a
// Trainer directly (no Job: no evaluation, no checkpoints) through a
// stageTimer, once over the Local executor and once over the hub's Remote
// executor per client backend, and logs each stage's mean latency (Start
// to the batch's last verified result) side by side. Forward and
// input-gradient stages are on the step's critical path; weight-gradient
// stages overlap them.
//
// Metrics per run: step_ms, crit_ms (Σ forward + input-gradient stages),
// and for remote runs device_ms/task (client device time per task).
func BenchmarkTrainingStages(b *testing.B) {
	spec := benchSpec(stageSteps, stageSteps)
	data := benchMNIST(b)
	var names []string
	var timers []*stageTimer
	run := func(b *testing.B, exec tile.Executor, cs []*client.Client) {
		tr, err := train.NewTrainer(spec)
		if err != nil {
			b.Fatal(err)
		}
		bs, in := spec.BatchSize, data.Train.Pixels()
		x := make([]float32, bs*in)
		y := make([]uint8, bs)
		idx := make([]int, bs)
		ctx := context.Background()
		// Warm-up steps: pipelines, buffers, connections.
		step := func(s int) {
			for i := range idx {
				idx[i] = (s*bs + i) % data.Train.N
			}
			data.Train.Batch(idx, x, y)
			if _, err := tr.Step(ctx, exec, x, y); err != nil {
				b.Fatal(err)
			}
		}
		for s := range 5 {
			step(s)
		}
		st := newStageTimer(exec)
		exec = st
		tasks0, busy0 := clientTotals(cs)
		began := time.Now()
		for s := range stageSteps {
			step(5 + s)
		}
		took := time.Since(began) / stageSteps
		b.ReportMetric(ms(took), "step_ms")
		var crit time.Duration
		for k, d := range st.stageMeans() {
			if !strings.HasPrefix(k, "dW") {
				crit += d
			}
		}
		b.ReportMetric(ms(crit), "crit_ms")
		if cs != nil {
			tasks, busy := clientTotals(cs)
			b.ReportMetric(ms(busy-busy0)/float64(tasks-tasks0), "device_ms/task")
		}
		names = append(names, b.Name()[strings.LastIndex(b.Name(), "/")+1:])
		timers = append(timers, st)
	}
	b.Run("local", func(b *testing.B) { run(b, tile.NewLocal(0), nil) })
	for _, name := range benchBackends {
		b.Run(name, func(b *testing.B) {
			keys, addrs := benchKeys(b, benchContributors)
			bh := startBenchHub(b, nil)
			cs := startBenchClients(b, bh, keys, name, benchSlots)
			tr, err := train.NewTrainer(spec)
			if err != nil {
				b.Fatal(err)
			}
			exp := train.NewExposure(1, tr.TileFractions(), addrs, nil, func(string, int) error { return nil })
			remote := train.NewRemote("stages", bh.h, exp)
			bh.h.AddSource(remote)
			defer bh.h.RemoveSource(remote)
			run(b, remote, cs)
			b.Logf("per-stage latency, mean of %d steps after 5 warm-up steps:\n%s", stageSteps, stageTable(names, timers))
		})
	}
}
