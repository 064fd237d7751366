// Package adversary measures how well the hub catches cheating
// contributors. It runs real client.Client contributors, honest ones and
// malicious ones whose device computes the honest result and then
// corrupts it (Strategy), against a real hub on a loopback listener with a
// real SQLite ledger, and reports per strategy how many bad results were
// submitted, refused or rejected before credit, and credited; how long
// detection took; how many honest results were wrongly refused; and what
// replication and arbitration cost.
//
// Entry points: Run(ctx, Config) for a run of the built-in matmul job;
// Start and (*Harness).Stop when the caller adds its own sources (a
// training job); (*Report).Table formats the outcome.
package adversary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Config describes one adversarial run. Start from DefaultConfig.
type Config struct {
	// Dir holds the hub's data and the ledger; required (a temp dir).
	Dir string
	// Shape is the built-in matmul job's tile; zero runs no matmul job
	// (the caller adds its own sources to Harness.Hub).
	Shape kernel.Shape
	// Honest is the number of honest contributors.
	Honest int
	// Cheaters lists one malicious contributor per entry. Collude entries
	// pair up in order; their number must be even.
	Cheaters []Strategy
	// Rate is the fraction of its results a cheater corrupts; 0 means 1.
	Rate float64
	// Slots is every client's slots.
	Slots int
	// Duration bounds Run; Tasks, if set, ends it sooner, once the hub has
	// completed that many tasks.
	Duration time.Duration
	Tasks    uint64
	// SteadyAfter is the number of results every honest contributor must
	// have had accepted before steady-state replication is measured; 0
	// means Warmup plus five half-lives.
	SteadyAfter int
	// Verification is the hub's replication and penalty policy.
	Verification hub.VerificationConfig
	// TrustHonest makes the honest contributors the operator's own
	// workers (never replicated).
	TrustHonest bool
	// Seed seeds the cheaters' corruption.
	Seed uint64
	// Logger receives the hub's and the clients' logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig is a small run: 4 honest contributors and one cheater of
// each strategy on 64×64×64 tiles for five seconds, with the hub's
// default verification.
func DefaultConfig(dir string) Config {
	return Config{
		Dir: dir, Shape: kernel.Shape{M: 64, K: 64, N: 64}, Honest: 4,
		Slots: 2, Duration: 5 * time.Second, Verification: hub.DefaultVerification(),
	}
}

func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("adversary: Dir is required")
	}
	if c.Honest < 0 || c.Slots < 0 {
		return errors.New("adversary: negative Honest or Slots")
	}
	colluders := 0
	for _, s := range c.Cheaters {
		if err := s.Valid(); err != nil {
			return err
		}
		if s == Collude {
			colluders++
		}
	}
	if colluders%2 != 0 {
		return fmt.Errorf("adversary: %d colluders cannot pair up", colluders)
	}
	if c.Rate < 0 || c.Rate > 1 {
		return fmt.Errorf("adversary: rate %v is not in [0, 1]", c.Rate)
	}
	return nil
}

// member is one contributor of the run.
type member struct {
	strategy Strategy
	addr     string
	c        *client.Client
	t        *tracker
	done     chan struct{} // closed when its Run returned
}

// Harness is a running hub with its contributors.
type Harness struct {
	cfg     Config
	log     *slog.Logger
	h       *hub.Hub
	led     *ledger.Ledger
	credits *creditLog
	arb     *timedArbiter
	url     string
	members []*member
	began   time.Time

	stopHub     context.CancelFunc
	served      chan error
	stopClients context.CancelFunc

	mu     sync.Mutex
	steady *hub.Status // at steady state, when reached
	end    *hub.Status // when the work stopped
}

// Start opens the ledger, serves a hub on a loopback port and starts the
// contributors. Stop ends it all and reports.
func Start(ctx context.Context, cfg Config) (*Harness, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 1
	}
	led, err := ledger.Open(ctx, filepath.Join(cfg.Dir, "ledger.db"), ledger.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	x := &Harness{cfg: cfg, log: cfg.Logger, led: led, credits: newCreditLog(led), arb: &timedArbiter{}}
	keys := make([]*identity.Key, cfg.Honest+len(cfg.Cheaters))
	for i := range keys {
		if keys[i], err = identity.Generate(); err != nil {
			led.Close()
			return nil, err
		}
	}
	hc := hub.DefaultConfig()
	hc.Name, hc.DataDir, hc.Logger = "adversary-hub", cfg.Dir, cfg.Logger
	hc.LeaseTimeout = 20 * time.Second
	hc.Matmul = hub.MatmulConfig{}
	if cfg.Shape != (kernel.Shape{}) {
		hc.Matmul = hub.MatmulConfig{Shape: cfg.Shape, Seed: cfg.Seed}
	}
	hc.Verification, hc.Credits, hc.Arbiter = cfg.Verification, x.credits, x.arb
	if cfg.TrustHonest {
		for _, k := range keys[:cfg.Honest] {
			hc.Trusted = append(hc.Trusted, k.Address().Hex())
		}
	}
	if x.h, err = hub.New(hc); err != nil {
		led.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		led.Close()
		return nil, err
	}
	x.url = "ws://" + ln.Addr().String() + "/ws"
	hctx, stopHub := context.WithCancel(context.Background())
	x.stopHub, x.served = stopHub, make(chan error, 1)
	go func() { x.served <- x.h.Serve(hctx, ln) }()

	cctx, stopClients := context.WithCancel(context.Background())
	x.stopClients = stopClients
	x.began = time.Now()
	var pair *board
	colluder := 0
	for i, k := range keys {
		m := &member{strategy: Honest, addr: k.Address().Hex(), t: newTracker(), done: make(chan struct{})}
		var dev device.Device = device.CPU{}
		if i >= cfg.Honest {
			m.strategy = cfg.Cheaters[i-cfg.Honest]
			ch := newCheater(m.strategy, cfg.Rate, cfg.Seed+uint64(i), m.t)
			if m.strategy == Collude {
				if colluder%2 == 0 {
					pair = newBoard()
				}
				ch.pair, ch.member = pair, colluder%2
				colluder++
			}
			dev = ch
		}
		cc := client.DefaultConfig()
		cc.HubURL, cc.Key, cc.Device, cc.Slots, cc.Logger = x.url, k, dev, cfg.Slots, cfg.Logger
		cc.MinBackoff, cc.MaxBackoff = 50*time.Millisecond, time.Second
		cc.Dial = trackedDial(m.t)
		if m.c, err = client.New(cc); err != nil {
			stopClients()
			x.shutdown()
			return nil, err
		}
		x.members = append(x.members, m)
		go func() {
			defer close(m.done)
			m.t.stopped(m.c.Run(cctx))
		}()
	}
	return x, nil
}

// Hub returns the running hub, for adding sources.
func (x *Harness) Hub() *hub.Hub { return x.h }

// Ledger returns the run's ledger.
func (x *Harness) Ledger() *ledger.Ledger { return x.led }

// Addresses returns the contributors' addresses by strategy.
func (x *Harness) Addresses() map[Strategy][]string {
	out := map[Strategy][]string{}
	for _, m := range x.members {
		out[m.strategy] = append(out[m.strategy], m.addr)
	}
	return out
}

// Run runs cfg's matmul job until cfg.Duration has passed or cfg.Tasks
// are completed, then stops and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Shape == (kernel.Shape{}) {
		return nil, errors.New("adversary: Run needs a matmul shape")
	}
	x, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(cfg.Duration)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-deadline.C:
			done = true
		case <-tick.C:
			st := x.Poll()
			done = cfg.Tasks > 0 && st.TasksCompleted >= cfg.Tasks
		}
	}
	return x.Stop(ctx)
}

// Poll returns the hub's status and records the steady-state snapshot
// once every honest contributor has had SteadyAfter results accepted.
func (x *Harness) Poll() hub.Status {
	st := x.h.Status()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.steady != nil {
		return st
	}
	need := x.cfg.SteadyAfter
	if need == 0 {
		v := x.cfg.Verification
		need = v.Warmup + int(5*v.HalfLife)
	}
	for _, m := range x.members {
		if m.strategy == Honest && m.c.Stats().Accepted < uint64(need) {
			return st
		}
	}
	x.steady = &st
	return st
}

// drainWait bounds how long Stop waits for leased tasks and verdicts.
const drainWait = 15 * time.Second

// Stop stops handing out the matmul job's tasks, waits for the tasks in
// flight and their verdicts, stops the contributors and the hub, and
// reports. Sources the caller added must be stopped before.
func (x *Harness) Stop(ctx context.Context) (*Report, error) {
	end := x.Poll()
	x.mu.Lock()
	x.end = &end
	x.mu.Unlock()
	if j := x.h.Matmul(); j != nil {
		x.h.RemoveSource(j)
	}
	deadline := time.Now().Add(drainWait)
	for time.Now().Before(deadline) && ctx.Err() == nil && !x.drained() {
		time.Sleep(20 * time.Millisecond)
	}
	x.stopClients()
	for _, m := range x.members {
		<-m.done
	}
	final := x.h.Status()
	x.stopHub()
	if err := <-x.served; err != nil {
		x.log.Warn("hub stopped with an error", "err", err)
	}
	if err := x.led.Flush(ctx); err != nil {
		x.led.Close()
		return nil, fmt.Errorf("flush ledger: %w", err)
	}
	rep, err := x.report(ctx, final)
	if cerr := x.led.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close ledger: %w", cerr)
	}
	return rep, err
}

// drained reports whether no task is leased and every contributor still
// running has its verdicts.
func (x *Harness) drained() bool {
	if x.h.Status().TasksInFlight != 0 {
		return false
	}
	for _, m := range x.members {
		select {
		case <-m.done:
			continue // banned: results after the ban get no verdict
		default:
		}
		if !m.t.settled() {
			return false
		}
	}
	return true
}

// shutdown releases what Start opened when it fails half way.
func (x *Harness) shutdown() {
	x.stopHub()
	<-x.served
	x.led.Close()
}

// timedArbiter computes exact products natively, as the hub's default
// does, and counts the time spent.
type timedArbiter struct {
	mu    sync.Mutex
	n     int
	spent time.Duration
}

func (a *timedArbiter) Exact(ctx context.Context, op kernel.Op, sh kernel.Shape, av, bv []float32) ([]float64, []float64, error) {
	start := time.Now()
	ex, abs, err := verify.Exact(op, sh, av, bv)
	a.mu.Lock()
	a.n++
	a.spent += time.Since(start)
	a.mu.Unlock()
	return ex, abs, err
}

func (a *timedArbiter) stats() (int, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n, a.spent
}
