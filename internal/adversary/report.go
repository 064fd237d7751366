package adversary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Report is the outcome of a run.
type Report struct {
	Shape    kernel.Shape
	Duration time.Duration
	// Strategies has one row per strategy present, Honest first.
	Strategies []StrategyReport
	// Contributors has one row per contributor.
	Contributors []ContributorReport
	// Status is the hub's final status.
	Status hub.Status
	// Replicated and Completed are the hub's counts when the work
	// stopped; SteadyReplicated and SteadyCompleted count only the tasks
	// after every honest contributor had passed SteadyAfter results
	// (zero when that was not reached).
	Replicated, Completed             uint64
	SteadyReplicated, SteadyCompleted uint64
	// Arbitrations counts exact recomputations; ArbitrationTime is the
	// hub's time spent on them.
	Arbitrations    int
	ArbitrationTime time.Duration
	// CheckPerTask is the hub's Freivalds check of one task of Shape and
	// ReferencePerTask one kernel.Reference run of it, both measured apart
	// from the run on one core; ComputePerTask is an honest contributor's
	// device time per task in the run (contended: every contributor and
	// the hub share this machine's cores).
	CheckPerTask, ReferencePerTask, ComputePerTask time.Duration
	// Inconsistencies lists anything the tracking could not reconcile
	// (ledger balances against the followed rows, verdicts against rows).
	Inconsistencies []string
	// LedgerErr is what ledger.CheckInvariants said.
	LedgerErr error
}

// ContributorReport is what became of one contributor's results.
type ContributorReport struct {
	Address  string
	Strategy Strategy
	Tally
	// Banned reports that the hub refused the client for good.
	Banned bool
	// FirstBad is when its first bad result was produced; Detected how
	// long after it the client got its first refusal or ban (0 when
	// never).
	FirstBad time.Time
	Detected time.Duration
	// Verified is its verified credit in the ledger, in FLOPs, all models.
	Verified int64
	// ClientRefused is the client's own count of refused results.
	ClientRefused uint64
}

// Tally counts results by what became of them.
type Tally struct {
	// Bad results (different from the honest output):
	Bad int
	// Refused at once (Freivalds or arbitration), RejectedLater (credited
	// pending, then rejected after a replica disagreed or voided after a
	// strike), Dropped (never judged: sent after a ban), Pending (still
	// pending when the run ended) and Credited (verified in the ledger).
	Refused, RejectedLater, Dropped, Pending, Credited int
	// Good results; how many of them were refused or rejected after a
	// disagreement (wrongly), voided (a cheater's pending credit lost to
	// a strike) or credited.
	Good, GoodRefused, GoodVoided, GoodCredited int
}

func (t *Tally) add(o Tally) {
	t.Bad += o.Bad
	t.Refused += o.Refused
	t.RejectedLater += o.RejectedLater
	t.Dropped += o.Dropped
	t.Pending += o.Pending
	t.Credited += o.Credited
	t.Good += o.Good
	t.GoodRefused += o.GoodRefused
	t.GoodVoided += o.GoodVoided
	t.GoodCredited += o.GoodCredited
}

// CaughtRate is the fraction of bad results rejected before credit
// (refused, rejected later or dropped); 1 when there were none.
func (t Tally) CaughtRate() float64 {
	if t.Bad == 0 {
		return 1
	}
	return float64(t.Refused+t.RejectedLater+t.Dropped) / float64(t.Bad)
}

// StrategyReport sums the contributors of one strategy.
type StrategyReport struct {
	Strategy     Strategy
	Contributors int
	Tally
	Banned int
	// Detected is the longest detection time among its contributors that
	// sent a bad result; Undetected counts those never refused or banned.
	Detected      time.Duration
	Undetected    int
	Verified      int64
	ClientRefused uint64
}

// report reconciles the trackers with the credit log and the ledger.
func (x *Harness) report(ctx context.Context, final hub.Status) (*Report, error) {
	rep := &Report{Shape: x.cfg.Shape, Duration: time.Since(x.began), Status: final}
	x.mu.Lock()
	if x.end != nil {
		rep.Replicated, rep.Completed = x.end.TasksReplicated, x.end.TasksCompleted
		if x.steady != nil {
			rep.SteadyReplicated = x.end.TasksReplicated - x.steady.TasksReplicated
			rep.SteadyCompleted = x.end.TasksCompleted - x.steady.TasksCompleted
		}
	}
	x.mu.Unlock()
	rep.Arbitrations, rep.ArbitrationTime = x.arb.stats()
	if err := x.credits.check(ctx); err != nil {
		rep.Inconsistencies = append(rep.Inconsistencies, "credit log vs ledger: "+err.Error())
	}
	verified, err := x.verifiedByAddress(ctx)
	if err != nil {
		return nil, err
	}
	var busy time.Duration
	var done uint64
	for _, m := range x.members {
		cr, problem := x.tally(m)
		cr.Verified = verified[m.addr]
		if problem != "" {
			rep.Inconsistencies = append(rep.Inconsistencies, problem)
		}
		rep.Contributors = append(rep.Contributors, cr)
		if m.strategy == Honest {
			st := m.c.Stats()
			busy += st.Busy
			done += st.TasksDone
		}
	}
	if done > 0 {
		rep.ComputePerTask = busy / time.Duration(done)
	}
	if x.cfg.Shape != (kernel.Shape{}) {
		rep.CheckPerTask, rep.ReferencePerTask = measureCheck(x.cfg.Shape)
	}
	rep.Strategies = summarize(rep.Contributors)
	rep.LedgerErr = x.led.CheckInvariants(ctx)
	return rep, nil
}

// verifiedByAddress sums each address's verified credit over all models,
// as the ledger reports it.
func (x *Harness) verifiedByAddress(ctx context.Context) (map[string]int64, error) {
	x.credits.mu.Lock()
	models := map[string]bool{}
	for _, r := range x.credits.rows {
		models[r.model] = true
	}
	x.credits.mu.Unlock()
	out := map[string]int64{}
	for model := range models {
		bs, err := x.led.Balances(ctx, model)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			v, ok := b.Verified.Uint64()
			if !ok || v > math.MaxInt64 {
				return nil, fmt.Errorf("%s's verified credit %s does not fit the report", b.Address, b.Verified)
			}
			out[b.Address] += int64(v)
		}
	}
	return out, nil
}

// tally follows each of m's results to its verdict and credit row.
func (x *Harness) tally(m *member) (ContributorReport, string) {
	cr := ContributorReport{Address: m.addr, Strategy: m.strategy, ClientRefused: m.c.Stats().Refused}
	keys := x.credits.keys(m.addr)
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	var pe *protocol.Error
	cr.Banned = errors.As(m.t.err, &pe) && pe.Code == protocol.CodeBanned
	var caught time.Time
	note := func(at time.Time) {
		if !at.IsZero() && (caught.IsZero() || at.Before(caught)) {
			caught = at
		}
	}
	if cr.Banned {
		note(m.t.stop)
	}
	used := 0
	var t Tally
	for _, r := range m.t.order {
		if r.bad && (cr.FirstBad.IsZero() || r.ran.Before(cr.FirstBad)) {
			cr.FirstBad = r.ran
		}
		var state creditState
		switch {
		case r.first == nil:
		case r.first.code != protocol.CodeOK:
			note(r.first.at)
		case used < len(keys):
			row := x.credits.row(keys[used], m.addr)
			r.key, r.state, r.how = keys[used], row.state, row.how
			state = row.state
			used++
		}
		note(r.rejectedAt)
		if !r.bad {
			t.Good++
			switch {
			case r.first != nil && r.first.code != protocol.CodeOK, state == stateRejected && r.how != "voided":
				t.GoodRefused++
			case state == stateRejected:
				t.GoodVoided++
			case state == stateVerified:
				t.GoodCredited++
			}
			continue
		}
		t.Bad++
		switch {
		case r.first == nil:
			t.Dropped++
		case r.first.code != protocol.CodeOK:
			t.Refused++
		case state == stateVerified:
			t.Credited++
		case state == stateRejected:
			t.RejectedLater++
		default:
			t.Pending++
		}
	}
	cr.Tally = t
	if !cr.FirstBad.IsZero() && !caught.IsZero() {
		cr.Detected = max(caught.Sub(cr.FirstBad), 0)
	}
	var problem string
	if used != len(keys) && !(cr.Banned && used < len(keys) && x.allRejected(keys[used:], m.addr)) {
		// A ban closes the connection at once: the verdicts of results
		// still waiting for their credit to be durable never reach the
		// contributor. Their rows must then be rejected (revoked by the
		// ban); anything else is a credit row without its verdict.
		problem = fmt.Sprintf("%s (%s): %d credit rows but %d accepting verdicts", m.addr, m.strategy, len(keys), used)
	}
	return cr, problem
}

// allRejected reports whether addr's credit rows for the tasks keys all
// ended rejected.
func (x *Harness) allRejected(keys []string, addr string) bool {
	for _, k := range keys {
		if x.credits.row(k, addr).state != stateRejected {
			return false
		}
	}
	return true
}

// summarize sums contributors by strategy, Honest first, then in the
// suite's order.
func summarize(cs []ContributorReport) []StrategyReport {
	var out []StrategyReport
	idx := map[Strategy]int{}
	for _, c := range cs {
		i, ok := idx[c.Strategy]
		if !ok {
			i = len(out)
			idx[c.Strategy] = i
			out = append(out, StrategyReport{Strategy: c.Strategy})
		}
		s := &out[i]
		s.Contributors++
		s.Tally.add(c.Tally)
		s.Verified += c.Verified
		s.ClientRefused += c.ClientRefused
		if c.Banned {
			s.Banned++
		}
		if c.Bad > 0 {
			if c.Detected == 0 {
				s.Undetected++
			}
			s.Detected = max(s.Detected, c.Detected)
		}
	}
	order := func(s Strategy) int {
		if s == Honest {
			return -1
		}
		if i := slices.Index(Strategies, s); i >= 0 {
			return i
		}
		return len(Strategies)
	}
	slices.SortStableFunc(out, func(a, b StrategyReport) int { return order(a.Strategy) - order(b.Strategy) })
	return out
}

// Strategy returns the row of s, or a zero row.
func (r *Report) Strategy(s Strategy) StrategyReport {
	for _, sr := range r.Strategies {
		if sr.Strategy == s {
			return sr
		}
	}
	return StrategyReport{Strategy: s}
}

// ReplicationOverhead is replicated tasks over completed tasks, in steady
// state when it was reached, else over the whole run.
func (r *Report) ReplicationOverhead() float64 {
	if r.SteadyCompleted > 0 {
		return float64(r.SteadyReplicated) / float64(r.SteadyCompleted)
	}
	if r.Completed == 0 {
		return 0
	}
	return float64(r.Replicated) / float64(r.Completed)
}

// measureCheck times the hub's Freivalds check of an honest result of sh
// and the reference product itself, the median of a few runs of each
// kernel.
func measureCheck(sh kernel.Shape) (check, reference time.Duration) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 2*rng.Float32() - 1
		}
		return v
	}
	var scratch verify.Scratch
	var checks, refs []time.Duration
	for _, op := range kernel.Ops {
		a, b, c := fill(sh.ALen()), fill(sh.BLen()), make([]float32, sh.CLen())
		for range 3 {
			start := time.Now()
			if kernel.Reference(op, sh, a, b, c) != nil {
				return 0, 0
			}
			refs = append(refs, time.Since(start))
		}
		for range 5 {
			start := time.Now()
			scratch.Freivalds(op, sh, a, b, c, rng)
			checks = append(checks, time.Since(start))
		}
	}
	slices.Sort(checks)
	slices.Sort(refs)
	return checks[len(checks)/2], refs[len(refs)/2]
}
