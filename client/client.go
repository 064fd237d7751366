// Package client is the contributor runtime shared by the native edge client
// (cmd/tessera-edge) and the browser client (wasm/): it connects to a hub,
// proves its identity, pulls tasks, runs them on a device.Device and returns
// the results, reconnecting with backoff when the connection drops.
//
// Entry points: New(Config) and (*Client).Run; (*Client).Drain stops it
// gracefully. Stats gives a snapshot for a progress line or a page;
// Config.OnUpdate is called whenever it changes.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Config configures a Client. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// HubURL is the hub's websocket endpoint, e.g. ws://127.0.0.1:8080/ws.
	HubURL string
	// Key is the contributor's identity.
	Key *identity.Key
	// Device runs the kernels.
	Device device.Device
	// Slots is how many tasks the client holds at once: one running and
	// the rest prefetched, so the device never waits for the network.
	Slots int
	// Agent names the client in the hub's status, e.g. "tessera-edge/0.1".
	Agent string
	// Kernels lists the ops the client runs natively; nil means all. The
	// hub ships a sandboxed module for the others.
	Kernels []kernel.Op
	// Jobs names the jobs (models) the client works for, each by the
	// job's ID or name (see CheckJobs); nil means every job the hub runs.
	// SetJobs changes the choice while the client runs.
	Jobs []string
	// CacheMiB is the operand cache the client offers the hub, so that an
	// operand sent for several tasks (a layer's activations) crosses the
	// network once (protocol.OperandCache); 0 means DefaultCacheMiB, a
	// negative value none.
	CacheMiB int
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// after each failed attempt and is jittered by ±50%.
	MinBackoff, MaxBackoff time.Duration
	// Dial opens connections; nil means the platform's Dial.
	Dial DialFunc
	// Logger receives progress and errors; nil means slog.Default().
	Logger *slog.Logger
	// OnUpdate, if set, is called after every change of Stats. It runs on
	// the client's goroutines and must not block.
	OnUpdate func(Stats)
}

// DefaultConfig returns a Config with the default slots, agent and backoff.
// DefaultCacheMiB is the operand cache a client offers by default: 64
// MiB holds a step's activations for the default language model many
// times over and costs a browser tab little.
const DefaultCacheMiB = 64

func DefaultConfig() Config {
	return Config{
		Slots:      2,
		CacheMiB:   DefaultCacheMiB,
		Agent:      "tessera-client/0.1",
		MinBackoff: 500 * time.Millisecond,
		MaxBackoff: 30 * time.Second,
	}
}

// State is the client's connection state.
type State string

// States reported in Stats.
const (
	StateConnecting State = "connecting"
	StateWorking    State = "working"
	StateBackoff    State = "waiting to reconnect"
	StateDraining   State = "draining"
	StateStopped    State = "stopped"
)

// Stats is a snapshot of the client's progress.
type Stats struct {
	State     State
	Address   string
	Device    device.Info
	Connected bool
	// TasksDone counts results sent; Accepted and Refused count the hub's
	// verdicts on them.
	TasksDone uint64
	Accepted  uint64
	Refused   uint64
	// Held is how many tasks the client holds: received, and no verdict
	// on them yet.
	Held int
	// FLOPs is the arithmetic done for all results sent; AcceptedFLOPs
	// that of the results the hub accepted (its credit, verified or
	// pending a second execution).
	FLOPs         float64
	AcceptedFLOPs float64
	// Busy is the device time spent on tasks.
	Busy time.Duration
	// Sandboxed counts tasks run by a module the hub shipped.
	Sandboxed uint64
	// LastRefusal is the hub's reason for the latest refused result.
	LastRefusal string
	// LastError describes the latest connection or device error.
	LastError string
	// Jobs are the jobs the client works for (nil: every job).
	Jobs []string
	// JobsUnknown are chosen names the hub knows no job by, and HubJobs
	// the names of the jobs it runs, from its answer to the choice.
	JobsUnknown []string
	HubJobs     []string
	// JobsNote explains unknown names to a person; "" when there are none.
	JobsNote string
	// Since is when Run started.
	Since time.Time
}

// Client is a contributor. Create it with New and start it with Run.
type Client struct {
	cfg  Config
	log  *slog.Logger
	host string // the hub URL's host[:port], named in the login signature

	builtin map[kernel.Op]bool
	mods    modules

	drain     chan struct{} // closed by Drain
	drainOnce sync.Once
	// chooseJobs is poked by SetJobs; the session's writer then sends
	// the current choice.
	chooseJobs chan struct{}

	mu    sync.Mutex
	stats Stats
}

// MaxSlots is the most tasks a client holds at once (Config.Slots).
const MaxSlots = 64

// CheckHubURL checks that hub is the hub's websocket URL (ws:// or wss://
// with a host). An http(s) URL is the usual mistake, the address the hub
// prints for browsers: the error names the websocket URL to give instead,
// /ws under the same path (a proxy may serve the hub under a prefix).
func CheckHubURL(hub string) error {
	u, err := url.Parse(hub)
	switch {
	case err != nil:
		return fmt.Errorf("hub URL %q: %w", hub, err)
	case u.Host == "":
		return fmt.Errorf("hub URL %q has no host", hub)
	case u.Scheme == "ws" || u.Scheme == "wss":
		return nil
	case u.Scheme == "http" || u.Scheme == "https":
		ws := "ws"
		if u.Scheme == "https" {
			ws = "wss"
		}
		prefix := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ws")
		return fmt.Errorf("hub URL %q is the hub's web address; contributors connect to its websocket: %s://%s%s/ws", hub, ws, u.Host, prefix)
	}
	return fmt.Errorf("hub URL %q: want ws:// or wss://", hub)
}

// New returns a client for cfg. It returns an error if a required field is
// missing.
func New(cfg Config) (*Client, error) {
	def := DefaultConfig()
	if cfg.HubURL == "" {
		return nil, errors.New("client: hub URL is required")
	}
	if err := CheckHubURL(cfg.HubURL); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	u, _ := url.Parse(cfg.HubURL) // checked
	if cfg.Key == nil {
		return nil, errors.New("client: key is required")
	}
	if cfg.Device == nil {
		return nil, errors.New("client: device is required")
	}
	if cfg.Slots <= 0 {
		cfg.Slots = def.Slots
	}
	if cfg.Slots > MaxSlots {
		return nil, fmt.Errorf("client: %d slots is more than the %d allowed", cfg.Slots, MaxSlots)
	}
	if cfg.Agent == "" {
		cfg.Agent = def.Agent
	}
	switch {
	case cfg.CacheMiB == 0:
		cfg.CacheMiB = DefaultCacheMiB
	case cfg.CacheMiB < 0:
		cfg.CacheMiB = 0
	case cfg.CacheMiB > protocol.MaxCacheMiB:
		return nil, fmt.Errorf("client: an operand cache of %d MiB is more than the %d allowed", cfg.CacheMiB, protocol.MaxCacheMiB)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = def.MinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(def.MaxBackoff, cfg.MinBackoff)
	}
	if cfg.Dial == nil {
		cfg.Dial = Dial
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Kernels == nil {
		cfg.Kernels = kernel.Ops
	}
	jobs, err := CheckJobs(cfg.Jobs)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c := &Client{cfg: cfg, log: log, host: u.Host, builtin: map[kernel.Op]bool{}, drain: make(chan struct{}),
		chooseJobs: make(chan struct{}, 1)}
	c.stats.Jobs = jobs
	for _, op := range cfg.Kernels {
		if !op.Valid() {
			return nil, fmt.Errorf("client: unknown kernel %v", op)
		}
		c.builtin[op] = true
	}
	c.stats.Address = cfg.Key.Address().Hex()
	c.stats.Device = cfg.Device.Info()
	c.stats.State = StateStopped
	return c, nil
}

// Stats returns a snapshot of the client's progress.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) update(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	s := c.stats
	c.mu.Unlock()
	if c.cfg.OnUpdate != nil {
		c.cfg.OnUpdate(s)
	}
}

// Run contributes until ctx is done, a Drain completes, or the hub refuses
// the client for good (wrong protocol version, banned). It reconnects
// after any other failure, waiting with exponential backoff and jitter. It
// returns nil when ctx ends or the drain is over.
func (c *Client) Run(ctx context.Context) error {
	c.update(func(s *Stats) { s.Since = time.Now() })
	defer c.update(func(s *Stats) { s.State, s.Connected = StateStopped, false })
	backoff := c.cfg.MinBackoff
	for {
		if c.draining() {
			return nil // nothing is held between connections
		}
		c.update(func(s *Stats) { s.State = StateConnecting })
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil || c.draining() {
			// A drain ends here whether it completed or the connection
			// dropped: either way the hub holds nothing for us any more.
			return nil
		}
		var pe *protocol.Error
		if errors.As(err, &pe) && permanent(pe.Code) {
			c.update(func(s *Stats) { s.LastError = err.Error() })
			return fmt.Errorf("hub refused this client: %w", err)
		}
		// A session the hub welcomed ends through no fault of ours (a hub
		// restart, a network change): start the next wait from the
		// minimum. Backoff grows only over failed dials and refusals.
		if c.Stats().Connected || time.Since(start) > time.Minute {
			backoff = c.cfg.MinBackoff
		}
		wait := jitter(backoff)
		c.log.Warn("disconnected from hub", "err", err, "retry_in", wait.Round(time.Millisecond))
		c.update(func(s *Stats) {
			s.State, s.Connected = StateBackoff, false
			if err != nil {
				s.LastError = err.Error()
			}
		})
		select {
		case <-ctx.Done():
			return nil
		case <-c.drain:
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// permanent reports codes after which reconnecting cannot help.
func permanent(c protocol.Code) bool {
	return c == protocol.CodeVersion || c == protocol.CodeBanned
}

// jitter spreads d uniformly over [d/2, 3d/2) so that many clients dropped
// at once do not reconnect in lockstep.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}
