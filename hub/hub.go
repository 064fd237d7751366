// Package hub is Tessera's coordinator: it accepts contributors over
// websockets, proves their identity, leases them shard tasks from its
// sources (the built-in MatmulJob, later training jobs), verifies every
// result with a Freivalds check and reports progress at /api/v1/status.
//
// Entry points: New(Config) returns a Hub; Handler serves the page, the
// websocket endpoint and the API; Run drives the background loops; Serve
// does both on a listener.
package hub

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
	"github.com/tessera-ai/tessera/web"
)

// Config configures a Hub. Start from DefaultConfig.
type Config struct {
	// Name identifies this hub in the text contributors sign, so a login
	// signature for one hub is worthless at another.
	Name string
	// DataDir holds the hub's state. It is created if missing.
	DataDir string
	// LeaseTimeout is how long a contributor has to return a task before
	// it is given to another.
	LeaseTimeout time.Duration
	// MaxSlots caps how many tasks one contributor may hold at once.
	MaxSlots int
	// OperandCacheMiB is the most operand cache the hub uses per
	// contributor (it uses what the contributor offers, up to this; 0:
	// no caching). See hub/opcache.go.
	OperandCacheMiB int
	// ChallengeTTL is how long a login challenge stays valid.
	ChallengeTTL time.Duration
	// Matmul configures the built-in random matmul job; a zero Shape
	// disables it.
	Matmul MatmulConfig
	// Verification sets replication and penalties.
	Verification VerificationConfig
	// Credits is the ledger verified work is credited to; nil keeps no
	// credit (and no standings across restarts).
	Credits Credits
	// Arbiter settles borderline and disputed results; nil computes the
	// exact product natively on the hub.
	Arbiter Arbiter
	// Trusted lists addresses whose results are never replicated (the
	// operator's own workers); they are still checked by Freivalds.
	Trusted []string
	// KernelModule, if set, is a WebAssembly kernel module (wasm/kernels)
	// shipped to contributors that lack some ops, which then run them in
	// their wazero sandbox. Without it such contributors get only the ops
	// they have.
	KernelModule []byte
	// Web is the file system served at "/"; nil means the embedded page.
	Web fs.FS
	// Logger receives the hub's logs; nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives the hub's instrumentation; nil records none.
	Metrics *metrics.Metrics
	// Limits bound what one network address may do (limits.go).
	Limits Limits
	// PublicHosts are host[:port] names contributors may dial this hub by
	// that do not reach it as its Host header (a reverse proxy that
	// rewrites Host). Login signatures name the host dialed (LoginText);
	// the request's Host, and X-Forwarded-Host from a trusted proxy, are
	// always accepted.
	PublicHosts []string
}

// DefaultConfig returns the configuration `make run` uses.
func DefaultConfig() Config {
	return Config{
		Name:            "tessera-hub",
		DataDir:         "data",
		LeaseTimeout:    60 * time.Second,
		MaxSlots:        8,
		OperandCacheMiB: 1024,
		ChallengeTTL:    30 * time.Second,
		Matmul:          MatmulConfig{Shape: kernel.Shape{M: 128, K: 128, N: 128}},
		Verification:    DefaultVerification(),
		Limits:          DefaultLimits(),
	}
}

// Hub is a running coordinator.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	sched    *scheduler
	upgrader websocket.Upgrader
	nonces   *nonceBook
	limits   *limiter
	started  time.Time
	matmul   *MatmulJob
	rep      *reputation
	credits  Credits
	arbiter  Arbiter
	trusted  map[string]bool
	module   *protocol.Module // shipped to contributors lacking ops; nil if none
	metrics  *metrics.Metrics
	wire     wireBook
	frozen   frozenChecks // prepared checks for frozen weight tiles

	arbitrations atomic.Uint64
	web          fs.FS
	mux          *http.ServeMux

	mu         sync.Mutex
	sessions   map[*session]struct{}
	people     map[string]*contributor // by address hex
	wg         sync.WaitGroup          // session goroutines
	closed     bool
	jobsStatus func() any
	jobDir     func() []JobRef

	dirMu sync.Mutex // guards dir and dirAt, a cache of jobDirectory
	dir   []JobRef
	dirAt time.Time
}

// New validates cfg and returns a Hub. It creates cfg.DataDir.
func New(cfg Config) (*Hub, error) {
	if cfg.Name == "" {
		return nil, errors.New("hub: name is required")
	}
	if cfg.LeaseTimeout <= 0 {
		return nil, fmt.Errorf("hub: lease timeout %v must be positive", cfg.LeaseTimeout)
	}
	if cfg.MaxSlots < 1 || cfg.MaxSlots > 64 {
		return nil, fmt.Errorf("hub: max slots %d must be between 1 and 64", cfg.MaxSlots)
	}
	if cfg.ChallengeTTL <= 0 {
		return nil, fmt.Errorf("hub: challenge TTL %v must be positive", cfg.ChallengeTTL)
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("hub: create data directory: %w", err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if v := cfg.Verification; v.Warmup < 0 || !(v.HalfLife > 0) || !(v.Floor >= 0 && v.Floor <= 1) || v.MaxStrikes < 1 || v.KeepAfter < 0 {
		return nil, fmt.Errorf("hub: verification config %+v: need warmup ≥ 0, half-life > 0, 0 ≤ floor ≤ 1, max strikes ≥ 1, keep-after ≥ 0", v)
	}
	stored := map[string]Standing{}
	if cfg.Credits != nil {
		var err error
		if stored, err = cfg.Credits.Standings(context.Background()); err != nil {
			return nil, fmt.Errorf("hub: load standings: %w", err)
		}
	}
	h := &Hub{
		rep:      newReputation(cfg.Verification, stored),
		credits:  cfg.Credits,
		arbiter:  cfg.Arbiter,
		trusted:  map[string]bool{},
		cfg:      cfg,
		log:      log,
		sched:    newScheduler(cfg.LeaseTimeout),
		metrics:  cfg.Metrics,
		nonces:   newNonceBook(cfg.ChallengeTTL),
		limits:   newLimiter(cfg.Limits),
		started:  time.Now(),
		web:      cfg.Web,
		sessions: make(map[*session]struct{}),
		people:   make(map[string]*contributor),
		upgrader: websocket.Upgrader{
			// serveWS checks the origin before upgrading, with a clearer
			// refusal than the upgrader's (limits.go).
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	if h.web == nil {
		h.web = web.FS
	}
	if h.arbiter == nil {
		h.arbiter = nativeArbiter{}
	}
	for _, a := range cfg.Trusted {
		h.trusted[a] = true
	}
	if len(cfg.KernelModule) > 0 {
		h.module = &protocol.Module{Hash: sha256.Sum256(cfg.KernelModule), Ops: kernel.Ops, Wasm: cfg.KernelModule}
	}
	h.sched.blind = cfg.Verification.Blind
	h.sched.metrics = cfg.Metrics
	if cfg.Verification.Replicate {
		h.sched.replication = func(addr string) float64 {
			if h.trusted[addr] {
				return 0
			}
			return h.rep.probability(addr)
		}
	}
	cfg.Metrics.WatchTasks(func() metrics.Tasks {
		t := h.sched.metricsSnapshot()
		t.Wire = h.wire.snapshot()
		return t
	})
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /ws", h.serveWS)
	h.mux.HandleFunc("GET /api/v1/status", h.serveStatus)
	h.mux.Handle("GET /", staticHandler(h.web))
	if cfg.Matmul.Shape != (kernel.Shape{}) {
		j, err := NewMatmulJob(cfg.Matmul)
		if err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		h.matmul = j
		h.sched.addSource(j, true)
	}
	return h, nil
}

// AddSource adds a producer of tasks to the queue. Its tasks take
// precedence over the built-in matmul job's, which only fills idle slots.
// Contributors that chose jobs by name are matched against the jobs known
// now (see SetJobDirectory), so a job that was created
// after they chose it reaches them too.
func (h *Hub) AddSource(src Source) {
	h.sched.resolveChoices(h.freshJobDirectory())
	h.sched.addSource(src, false)
}

// RemoveSource stops leasing src's tasks and drops those still queued.
func (h *Hub) RemoveSource(src Source) { h.sched.removeSource(src) }

// Notify tells the hub that a source has new tasks, so that waiting
// contributors are served at once.
func (h *Hub) Notify() { h.sched.fill() }

// Handle registers an extra HTTP handler (training jobs' API, admin
// endpoints) on the hub's mux. Call it before serving.
func (h *Hub) Handle(pattern string, handler http.Handler) { h.mux.Handle(pattern, handler) }

// SetJobDirectory sets the function that lists the jobs (besides the
// built-in matmul job) contributors may choose by ID or name. It is
// called without the hub's lock held, at most once per directoryTTL.
func (h *Hub) SetJobDirectory(f func() []JobRef) {
	h.mu.Lock()
	h.jobDir = f
	h.mu.Unlock()
}

// SetJobsStatus sets the function whose result appears as "jobs" in
// GET /api/v1/status.
func (h *Hub) SetJobsStatus(f func() any) {
	h.mu.Lock()
	h.jobsStatus = f
	h.mu.Unlock()
}

// Closing reports whether the hub is shutting down (its Run has ended or
// is ending), for health checks.
func (h *Hub) Closing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Matmul returns the built-in matmul job, or nil when it is disabled.
func (h *Hub) Matmul() *MatmulJob { return h.matmul }

// Handler serves the contributor page at "/", the websocket at "/ws" and
// the JSON API under "/api/v1/", plus what Handle registered.
func (h *Hub) Handler() http.Handler { return securityHeaders(h.limitRequests(h.mux)) }

// expiryPeriod is how often leases are checked against their deadline; it
// bounds how late past its deadline a lease is requeued.
const expiryPeriod = 250 * time.Millisecond

// Run drives the hub's background work (lease expiry, nonce cleanup) until
// ctx ends, then disconnects every contributor and waits for their
// goroutines.
func (h *Hub) Run(ctx context.Context) error {
	tick := time.NewTicker(min(expiryPeriod, h.cfg.LeaseTimeout/4))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case <-tick.C:
			h.sched.expire()
			h.nonces.purge()
			h.limits.purge(time.Now())
		}
	}
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	for s := range h.sessions {
		s.closeWith(shutdownErr)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// Serve serves Handler on ln and runs the hub until ctx ends, then shuts
// down gracefully.
func (h *Hub) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second,
		// Per-connection noise (TLS handshakes of scanners, broken
		// clients) goes to debug, not to the operator's log.
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- h.Run(ctx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		cancel()
	}
	shCtx, shCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer shCancel()
	srv.Shutdown(shCtx) // hijacked websockets are closed by Run's shutdown
	<-runDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
