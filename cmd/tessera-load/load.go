package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Config configures a load run. Start from DefaultConfig.
type Config struct {
	// Idle contributors connect, complete the handshake, declare zero
	// capacity and then only answer pings.
	Idle int
	// Active contributors compute tasks without pause.
	Active int
	// Slots is how many tasks each active contributor holds at once.
	Slots int
	// Shape is the hub's matmul task shape.
	Shape kernel.Shape
	// Think is how long an active contributor takes per task besides
	// computing it, drawn uniformly from [Think/2, 3·Think/2): what a
	// real device and network add to a tile that loopback and a 16×16×16
	// product lack. Zero returns every result at once, which measures the
	// hub's capacity; in that closed loop the lease latency is simply
	// Active·Slots divided by the task rate.
	Think time.Duration
	// Warmup runs after everyone has connected, before measuring.
	Warmup time.Duration
	// Window is the time measured.
	Window time.Duration
	// SourceIPs spreads the contributors over this many loopback source
	// addresses (127.0.0.1 and up), as seen by the hub's per-IP limits
	// and its replica placement; 0 gives each contributor its own, as on
	// the internet.
	SourceIPs int
	// Limits keeps the hub's default per-IP limits (hub.DefaultLimits);
	// false disables them.
	Limits bool
	// DialConcurrency bounds the handshakes in progress at once.
	DialConcurrency int
	// Chain runs the hub's embedded chain and committer, as in production.
	Chain bool
	// DataDir is the hub's data directory, kept afterwards; "" uses a
	// temporary one, removed afterwards.
	DataDir string
	// ProfileDir, if set, receives the hub's CPU profile of the window
	// (hub-cpu.pprof) and a heap profile at its end (hub-heap.pprof).
	ProfileDir string
}

// DefaultConfig is issue 7's load: 10,000 idle and 1,000 active
// contributors on 16×16×16 tasks.
func DefaultConfig() Config {
	return Config{
		Idle: 10000, Active: 1000, Slots: 1,
		Shape:  kernel.Shape{M: 16, K: 16, N: 16},
		Warmup: 5 * time.Second, Window: 30 * time.Second,
		DialConcurrency: 32, Chain: true, Limits: true,
	}
}

// maxSourceIPs keeps the source addresses within 127.0.0.0/16.
const maxSourceIPs = 250 * 250

func (c Config) validate() error {
	switch {
	case c.Idle < 0 || c.Active < 1:
		return fmt.Errorf("need at least one active contributor and no negative counts (idle %d, active %d)", c.Idle, c.Active)
	case c.Slots < 1 || c.Slots > 64:
		return fmt.Errorf("slots %d must be between 1 and 64", c.Slots)
	case c.Think < 0:
		return fmt.Errorf("think time %v must not be negative", c.Think)
	case c.Warmup < 0 || c.Window <= 0:
		return fmt.Errorf("warm-up %v must not be negative and window %v must be positive", c.Warmup, c.Window)
	case c.SourceIPs < 0 || c.SourceIPs > maxSourceIPs || (c.SourceIPs == 0 && c.Idle+c.Active > maxSourceIPs):
		return fmt.Errorf("source addresses %d (0: one a contributor) must be between 1 and %d", c.SourceIPs, maxSourceIPs)
	case c.DialConcurrency < 1:
		return fmt.Errorf("dial concurrency %d must be positive", c.DialConcurrency)
	}
	return c.Shape.Validate()
}

// sourceIP returns the i-th loopback source address: 127.0.0.1 and up,
// 250 per third octet.
func sourceIP(i int) net.IP { return net.IPv4(127, 0, byte(i/250), byte(1+i%250)) }

// fdSpare covers the descriptors besides contributor connections (the
// hub's databases, chain, listeners; the binary, logs and scrapes here).
const fdSpare = 256

// connectWait bounds how long the hub may take to count every contributor
// after the last handshake.
const connectWait = time.Minute

// Run starts a hub process, loads it as cfg says and returns what was
// measured. Progress goes to progress. A temporary data directory is
// removed after a successful run and kept, with the hub's log, after a
// failed one.
func Run(ctx context.Context, cfg Config, progress io.Writer) (rep *Report, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rep = &Report{Config: cfg}
	if rep.FDSoft, rep.FDHard, err = raiseFDLimit(); err != nil {
		return nil, err
	}
	// Each process holds one descriptor per connection.
	if need := uint64(cfg.Idle + cfg.Active + fdSpare); rep.FDSoft < need {
		return nil, fmt.Errorf("RLIMIT_NOFILE is %d (hard limit %d), below the %d descriptors each process needs; raise the hard limit (ulimit -Hn) or load less", rep.FDSoft, rep.FDHard, need)
	}
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "tessera-load-"); err != nil {
			return nil, err
		}
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hubLog := filepath.Join(dir, "hub.log")
	hub, err := startHub(ctx, hubSettings{DataDir: dir, Shape: cfg.Shape, Chain: cfg.Chain, Limits: cfg.Limits, Debug: cfg.ProfileDir != ""})
	if err != nil {
		return nil, err
	}
	rep.HubNoFile = hub.NoFile
	fmt.Fprintf(progress, "hub pid %d on %s (log: %s)\n", hub.pid(), hub.Addr, hubLog)
	l := &loader{cfg: cfg, hub: hub, rep: rep, progress: progress, win: &window{base: time.Now()}}
	err = l.run(ctx)
	l.close()
	if stopErr := hub.stop(); stopErr != nil && err == nil {
		err = fmt.Errorf("the hub exited with %w", stopErr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (the hub's log: %s)", err, hubLog)
	}
	return rep, nil
}

// loader drives one run against a started hub.
type loader struct {
	cfg      Config
	hub      *hubProcess
	rep      *Report
	progress io.Writer
	win      *window

	peers  []*peer
	wg     sync.WaitGroup // peers' goroutines
	closed atomic.Bool    // set before the run closes the connections
}

func (l *loader) metricsURL() string { return "http://" + l.hub.Addr + "/metrics" }

func (l *loader) run(ctx context.Context) error {
	total := l.cfg.Idle + l.cfg.Active
	fmt.Fprintf(l.progress, "connecting %d idle and %d active contributors\n", l.cfg.Idle, l.cfg.Active)
	start := time.Now()
	if err := l.connectAll(ctx); err != nil {
		return err
	}
	if err := l.waitConnected(ctx, total); err != nil {
		return err
	}
	l.rep.ConnectTook = time.Since(start)
	fmt.Fprintf(l.progress, "%d connected in %v; warming up for %v\n", total, l.rep.ConnectTook.Round(time.Millisecond), l.cfg.Warmup)
	if err := sleep(ctx, l.cfg.Warmup); err != nil {
		return err
	}
	before, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	l.win.start.Store(int64(l.win.now()))
	profiled := make(chan error, 1)
	if l.cfg.ProfileDir != "" {
		go func() { profiled <- l.profileCPU(ctx) }()
	} else {
		profiled <- nil
	}
	fmt.Fprintf(l.progress, "measuring for %v\n", l.cfg.Window)
	if err := l.sampleMemory(ctx, time.Now().Add(l.cfg.Window)); err != nil {
		return err
	}
	l.win.end.Store(int64(l.win.now()))
	after, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	if err := <-profiled; err != nil {
		return err
	}
	if l.cfg.ProfileDir != "" {
		if err := fetchTo(ctx, "http://"+l.hub.Debug+"/debug/pprof/heap", filepath.Join(l.cfg.ProfileDir, "hub-heap.pprof")); err != nil {
			return fmt.Errorf("fetch the hub's heap profile: %w", err)
		}
	}
	l.rep.measured(before, after)
	return nil
}

// connectAll connects the idle contributors, then the active ones, with
// at most DialConcurrency handshakes at once.
func (l *loader) connectAll(ctx context.Context) error {
	total := l.cfg.Idle + l.cfg.Active
	keys := make([]*identity.Key, total)
	for i := range keys {
		k, err := identity.Generate()
		if err != nil {
			return err
		}
		keys[i] = k
	}
	l.peers = make([]*peer, total)
	sources := l.cfg.SourceIPs
	if sources == 0 {
		sources = total
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var dialers sync.WaitGroup
	for range l.cfg.DialConcurrency {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				p := &peer{active: i >= l.cfg.Idle, think: l.cfg.Think, win: l.win}
				if err := p.connect(ctx, l.hub.Addr, sourceIP(i%sources), keys[i], l.cfg.Slots); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("contributor %d of %d: %w", i+1, total, err)
					}
					mu.Unlock()
					cancel()
					return
				}
				l.peers[i] = p // read only after dialers.Wait
				l.wg.Add(1)
				go func() { defer l.wg.Done(); p.run(&l.closed) }()
			}
		}()
	}
	dialers.Wait()
	return first
}

// waitConnected polls the hub's metrics until it counts n sessions.
func (l *loader) waitConnected(ctx context.Context, n int) error {
	deadline := time.Now().Add(connectWait)
	for {
		m, err := scrape(ctx, l.metricsURL())
		if err != nil {
			return err
		}
		got := int(m["tessera_connections"])
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the hub counts %d contributor sessions, want %d", got, n)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// snapshot is the cumulative counters read at the window's edges.
type snapshot struct {
	at         time.Time
	metrics    map[string]float64
	hubCPU     time.Duration
	loadCPU    time.Duration
	machineCPU time.Duration
	cores      int
}

func (l *loader) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now(), loadCPU: selfCPU()}
	var err error
	if s.hubCPU, err = procCPU(l.hub.pid()); err != nil {
		return s, err
	}
	if s.machineCPU, s.cores, err = machineCPU(); err != nil {
		return s, err
	}
	s.metrics, err = scrape(ctx, l.metricsURL())
	return s, err
}

// memoryPeriod is how often the hub's memory is sampled in the window.
const memoryPeriod = 500 * time.Millisecond

// sampleMemory records the hub's largest resident set until the deadline.
func (l *loader) sampleMemory(ctx context.Context, until time.Time) error {
	for {
		rss, _, err := procMemory(l.hub.pid())
		if err != nil {
			return fmt.Errorf("read the hub's memory: %w", err)
		}
		l.rep.HubRSSMax = max(l.rep.HubRSSMax, rss)
		left := time.Until(until)
		if left <= 0 {
			break
		}
		if err := sleep(ctx, min(left, memoryPeriod)); err != nil {
			return err
		}
	}
	var err error
	l.rep.HubRSSEnd, l.rep.HubRSSPeak, err = procMemory(l.hub.pid())
	return err
}

// profileCPU saves the hub's CPU profile over the window.
func (l *loader) profileCPU(ctx context.Context) error {
	if err := os.MkdirAll(l.cfg.ProfileDir, 0o755); err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", l.hub.Debug, max(1, int(l.cfg.Window.Seconds())))
	if err := fetchTo(ctx, url, filepath.Join(l.cfg.ProfileDir, "hub-cpu.pprof")); err != nil {
		return fmt.Errorf("fetch the hub's CPU profile: %w", err)
	}
	return nil
}

// lateAnswers is how long requests made in the window may still be
// answered after it ends.
const lateAnswers = 2 * time.Second

// close closes every connection after lateAnswers, waits for the peers'
// goroutines and adds their figures to the report.
func (l *loader) close() {
	if l.win.end.Load() != 0 {
		time.Sleep(lateAnswers)
	}
	l.closed.Store(true)
	for _, p := range l.peers {
		if p != nil {
			p.conn.Close()
		}
	}
	l.wg.Wait()
	var errs []error
	for i, p := range l.peers {
		if p == nil {
			continue
		}
		l.rep.Latencies = append(l.rep.Latencies, p.latencies...)
		l.rep.Sent += p.sent
		l.rep.Refused += p.refused
		l.rep.Unanswered += p.unanswered()
		if p.refused > 0 && l.rep.LastRefusal == "" {
			l.rep.LastRefusal = p.lastRefuse
		}
		if p.err != nil {
			l.rep.Dropped++
			if len(errs) < 3 {
				errs = append(errs, fmt.Errorf("contributor %d: %w", i+1, p.err))
			}
		}
	}
	l.rep.DropErrors = errors.Join(errs...)
	slices.Sort(l.rep.Latencies)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
