package adversary

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// run runs cfg and fails tb on an error or an inconsistent report.
func run(tb testing.TB, cfg Config) *Report {
	tb.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("run: %v", err)
	}
	checkReport(tb, rep)
	return rep
}

// checkReport fails tb when the tracking or the ledger is inconsistent,
// or when an honest result was refused.
func checkReport(tb testing.TB, rep *Report) {
	tb.Helper()
	for _, p := range rep.Inconsistencies {
		tb.Errorf("inconsistent: %s", p)
	}
	if rep.LedgerErr != nil {
		tb.Errorf("ledger invariants: %v", rep.LedgerErr)
	}
	for _, c := range rep.Contributors {
		if c.Strategy == Honest && (c.ClientRefused != 0 || c.GoodRefused != 0) {
			tb.Errorf("honest %s had %d results refused (%d by the tracker)", c.Address, c.ClientRefused, c.GoodRefused)
		}
	}
}

// corruptsAll reports whether s corrupts every result (others return
// some honest results: stale its first, colluders what they compute).
func corruptsAll(s Strategy) bool { return s != Stale && s != Collude }

// TestEachStrategyIsCaught runs three honest contributors and one cheater
// (a pair for collusion) per strategy, and checks that the cheater is
// banned, that none of its bad results is credited and that its verified
// credit is only for honest work.
func TestEachStrategyIsCaught(t *testing.T) {
	sh := kernel.Shape{M: 32, K: 48, N: 40}
	flops := int64(2 * sh.M * sh.K * sh.N)
	for _, s := range Strategies {
		t.Run(string(s), func(t *testing.T) {
			cfg := DefaultConfig(t.TempDir())
			cfg.Shape, cfg.Honest, cfg.Duration = sh, 3, 2*time.Second
			cfg.Cheaters = []Strategy{s}
			if s == Collude {
				cfg.Cheaters = []Strategy{Collude, Collude}
			}
			rep := run(t, cfg)
			t.Logf("\n%s", rep.Table())
			if sr := rep.Strategy(s); sr.Banned == 0 || sr.Bad == 0 {
				t.Errorf("%s: %d bad results, %d cheaters banned", s, sr.Bad, sr.Banned)
			}
			for _, c := range rep.Contributors {
				if c.Strategy == Honest {
					if c.Good == 0 {
						t.Errorf("honest %s completed nothing", c.Address)
					}
					continue
				}
				// A colluder whose partner is banned has nobody to copy
				// from: it turns honest, after one strike or none.
				if c.Bad == 0 && s != Collude {
					t.Errorf("%s sent no bad result", c.Address)
				}
				if !c.Banned && (s != Collude || c.Bad > c.Refused+c.Dropped) {
					t.Errorf("%s (%s) was not banned: %+v", c.Address, s, c.Tally)
				}
				if c.Credited != 0 {
					t.Errorf("%s (%s): %d bad results credited", c.Address, s, c.Credited)
				}
				if c.Verified != int64(c.GoodCredited)*flops {
					t.Errorf("%s (%s): %d FLOPs verified, but only %d honest results credited", c.Address, s, c.Verified, c.GoodCredited)
				}
				if corruptsAll(s) && c.Verified != 0 {
					t.Errorf("%s (%s) holds %d verified FLOPs", c.Address, s, c.Verified)
				}
			}
		})
	}
}

// TestMaliciousMinorityDuringTraining trains MNIST to 93% with eight
// honest contributors and two cheaters (20%: noise 1e-3 and random),
// assembled as hub/service does (hub, ledger, store, training manager),
// none of them trusted so that replication applies. The job must reach
// its target, no bad result may be credited, every cheater must be banned
// or hold no verified credit, and the ledger must hold its invariants.
func TestMaliciousMinorityDuringTraining(t *testing.T) {
	trainWith(t, 8, []Strategy{Noise3, Random})
}

// trainWith trains a small MNIST job with honest contributors and
// cheaters and checks the outcome.
func trainWith(t *testing.T, honest int, cheaters []Strategy) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := mnistData.Load(ctx); err != nil {
		t.Skipf("MNIST unavailable: %v", err)
	}
	cfg := DefaultConfig(dir)
	cfg.Shape, cfg.Honest, cfg.Cheaters = kernel.Shape{}, honest, cheaters
	x, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mctx, stopJobs := context.WithCancel(ctx)
	mgr := train.NewManager(x.Hub(), db, train.ManagerConfig{DataDir: dir, Data: &mnistData, Logger: cfg.Logger})
	if err := mgr.Start(mctx); err != nil {
		t.Fatal(err)
	}
	spec := train.MNISTSpec()
	spec.Name, spec.TargetAccuracy, spec.EvalEvery, spec.ExposureCap = "adversarial", 0.93, 50, 1.0
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var job train.JobStatus
	for deadline := began.Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		x.Poll()
		for _, st := range mgr.Statuses() {
			if st.ID == id {
				job = st
			}
		}
		if job.State == store.StateDone || job.State == store.StateFailed || time.Now().After(deadline) {
			break
		}
	}
	stopJobs()
	mgr.Wait()
	rep, err := x.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("job %s at step %d in %v, accuracy %+v\n%s", job.State, job.Step, time.Since(began).Round(time.Millisecond), job.Latest, rep.Table())
	checkReport(t, rep)
	if job.State != store.StateDone || job.Latest == nil || job.Latest.TestAccuracy < spec.TargetAccuracy {
		t.Errorf("job did not reach %.2f: state %s, step %d, latest %+v, error %q", spec.TargetAccuracy, job.State, job.Step, job.Latest, job.Error)
	}
	for _, c := range rep.Contributors {
		if c.Strategy == Honest {
			continue
		}
		if c.Credited != 0 {
			t.Errorf("%s (%s): %d bad results credited", c.Address, c.Strategy, c.Credited)
		}
		if !c.Banned && c.Verified != 0 {
			t.Errorf("%s (%s) is not banned and holds %d verified FLOPs", c.Address, c.Strategy, c.Verified)
		}
	}
}

// mnistData loads MNIST once per test binary.
var mnistData train.DataLoader

// BenchmarkAdversarial runs four honest contributors and one cheater (a
// pair for collusion) per strategy on 64×64×64 tiles, then probes small
// noise and lower precision (TF32, BF16) at several K, then runs honest
// baselines at 64³ and 256³ for steady-state replication and the hub's
// checking cost. Run it with -benchtime 1x -v for the tables.
func BenchmarkAdversarial(b *testing.B) {
	small := kernel.Shape{M: 64, K: 64, N: 64}
	var rows []StrategyReport
	cheat := func(name string, sh kernel.Shape, s Strategy) {
		b.Run(name, func(b *testing.B) {
			var rep *Report
			for range b.N {
				cfg := DefaultConfig(b.TempDir())
				cfg.Shape, cfg.Honest, cfg.Duration = sh, 4, 3*time.Second
				cfg.Cheaters = []Strategy{s}
				if s == Collude {
					cfg.Cheaters = []Strategy{Collude, Collude}
				}
				rep = run(b, cfg)
			}
			b.Logf("\n%s", rep.Table())
			sr := rep.Strategy(s)
			sr.Strategy = Strategy(name)
			rows = append(rows, sr)
			b.ReportMetric(float64(sr.Bad), "bad")
			b.ReportMetric(100*sr.CaughtRate(), "caught_%")
			b.ReportMetric(float64(sr.Credited), "credited")
			b.ReportMetric(float64(sr.Detected.Microseconds())/1000, "detect_ms")
			b.ReportMetric(float64(rep.Strategy(Honest).ClientRefused), "honest_refused")
			b.ReportMetric(100*rep.ReplicationOverhead(), "repl_%")
			b.ReportMetric(float64(rep.Arbitrations), "arbitrations")
		})
	}
	for _, s := range Strategies {
		cheat(string(s), small, s)
	}
	// Probes beyond the suite: noise and lower precision near the
	// tolerance, which grows with K relative to the result.
	for _, p := range []struct {
		sh kernel.Shape
		s  Strategy
	}{
		{small, Noise(1e-4)}, {small, Noise(1e-5)}, {small, TF32}, {small, BF16},
		{kernel.Shape{M: 64, K: 784, N: 64}, TF32}, {kernel.Shape{M: 64, K: 784, N: 64}, Noise(1e-4)},
		{kernel.Shape{M: 64, K: 2048, N: 64}, TF32}, {kernel.Shape{M: 64, K: 2048, N: 64}, Noise(3e-4)},
	} {
		cheat("probe-"+string(p.s)+"-"+p.sh.String(), p.sh, p.s)
	}
	for _, base := range []struct {
		sh kernel.Shape
		d  time.Duration
	}{{small, 8 * time.Second}, {kernel.Shape{M: 256, K: 256, N: 256}, 25 * time.Second}} {
		b.Run("honest-"+base.sh.String(), func(b *testing.B) {
			var rep *Report
			for range b.N {
				cfg := DefaultConfig(b.TempDir())
				cfg.Shape, cfg.Honest, cfg.Duration = base.sh, 4, base.d
				rep = run(b, cfg)
			}
			b.Logf("\n%s", rep.Table())
			if rep.SteadyCompleted == 0 {
				b.Logf("steady state not reached: replication is over the whole run")
			}
			h := rep.Strategy(Honest)
			b.ReportMetric(float64(rep.Completed), "tasks")
			b.ReportMetric(100*float64(rep.Replicated)/float64(max(rep.Completed, 1)), "repl_run_%")
			b.ReportMetric(100*rep.ReplicationOverhead(), "repl_steady_%")
			b.ReportMetric(float64(h.ClientRefused+uint64(h.GoodRefused)), "honest_refused")
			b.ReportMetric(float64(rep.Arbitrations), "arbitrations")
			b.ReportMetric(float64(rep.CheckPerTask.Microseconds()), "check_µs/task")
			b.ReportMetric(float64(rep.ReferencePerTask.Microseconds()), "product_µs/task")
			b.ReportMetric(float64(rep.ComputePerTask.Microseconds()), "device_µs/task")
			if rep.ReferencePerTask > 0 {
				b.ReportMetric(100*float64(rep.CheckPerTask)/float64(rep.ReferencePerTask), "check_%_of_product")
			}
		})
	}
	if len(rows) > 0 {
		b.Logf("\n%s", summaryTable(rows))
	}
}
