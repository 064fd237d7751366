// Package service assembles a complete hub process: the coordinator
// (package hub), its database (hub/store), the training jobs (hub/train)
// and the admin token, on one listener. cmd/tessera-hub is a thin wrapper
// around Run; tests call Run too.
package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/sandbox"
)

// Config configures a hub process.
type Config struct {
	Hub hub.Config
	// OwnWorkers are the operator's own contributor addresses, exempt from
	// exposure caps.
	OwnWorkers []string
	// DefaultJob creates the default jobs named in Jobs when the database
	// has no job (a hub's first start).
	DefaultJob bool
	// Jobs names the default jobs (train.DefaultSpec): "mnist-mlp",
	// "gocode-lm".
	Jobs []string
	// EnsureJobs also creates, on any start, each job of Jobs that no job
	// of the database is named after (set by tessera-hub --jobs).
	EnsureJobs bool
	// MNISTDir overrides where the MNIST files are ("" locates them).
	MNISTDir string
	// GoRoot overrides the Go tree whose source is the default text
	// corpus ("" asks the go command).
	GoRoot string
	// Chain chooses where credit is committed (embedded chain by default).
	Chain ChainConfig
	// Inference configures the OpenAI-compatible API (inference.go).
	Inference InferenceConfig
	// TLS, when enabled, serves HTTPS and WSS on the listener (tls.go).
	TLS TLSConfig
	// Ready, if set, is called with the listener's address once the hub
	// serves.
	Ready func(addr net.Addr)
}

// DefaultConfig is what `make run` uses.
func DefaultConfig() Config {
	return Config{Hub: hub.DefaultConfig(), DefaultJob: true, Jobs: []string{"mnist-mlp", "gocode-lm"}}
}

// tokenFile is the admin token's name in the data directory.
const tokenFile = "admin.token"

// Run serves the hub on ln until ctx ends.
func Run(ctx context.Context, ln net.Listener, cfg Config) error {
	if err := os.MkdirAll(cfg.Hub.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	// A certificate that cannot serve fails here, before anything starts.
	ln, err := listenTLS(ln, cfg.Hub.DataDir, cfg.TLS, cmp.Or(cfg.Hub.Logger, slog.Default()))
	if err != nil {
		return err
	}
	if cfg.Hub.Metrics == nil {
		cfg.Hub.Metrics = metrics.New()
	}
	led, err := ledger.Open(ctx, filepath.Join(cfg.Hub.DataDir, "ledger.db"), ledger.Config{Logger: cfg.Hub.Logger, Metrics: cfg.Hub.Metrics})
	if err != nil {
		return err
	}
	defer led.Close()
	cfg.Hub.Credits = led
	cfg.Hub.Trusted = append(cfg.Hub.Trusted, cfg.OwnWorkers...)
	arb, err := openArbiter(ctx, cfg.Hub.Logger)
	if err != nil {
		return err
	}
	if arb != nil {
		defer arb.Close(context.Background())
		cfg.Hub.Arbiter = arb
		// The same module goes to contributors lacking a kernel.
		cfg.Hub.KernelModule, _ = sandbox.Builtin()
	}
	h, err := hub.New(cfg.Hub)
	if err != nil {
		return err
	}
	log := cfg.Hub.Logger
	routeCredits(h.Handle, led)
	routeMetrics(h.Handle, cfg.Hub.Metrics, h, led)
	db, err := store.Open(ctx, filepath.Join(cfg.Hub.DataDir, "hub.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := adminToken(cfg.Hub.DataDir)
	if err != nil {
		return err
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{
		DataDir: cfg.Hub.DataDir, OwnWorkers: cfg.OwnWorkers, Data: &train.DataLoader{Dir: cfg.MNISTDir, GoRoot: cfg.GoRoot}, Logger: log,
		Metrics: cfg.Hub.Metrics,
	})
	mgr.Routes(h.Handle, token)
	routeAdmin(h.Handle, h, led, token)
	stopInference, err := routeInference(ctx, h.Handle, mgr, led, cfg.Inference, cfg.Hub.Metrics, cfg.Hub.DataDir, token, cmp.Or(log, slog.Default()))
	if err != nil {
		return err
	}
	defer stopInference()
	if !cfg.Chain.Off {
		clog := log
		if clog == nil {
			clog = slog.Default()
		}
		committer, addr, backend, chainKey, stopChain, err := startChain(ctx, cfg.Hub.DataDir, cfg.Chain, led, clog)
		if err != nil {
			return err
		}
		defer stopChain() // before the ledger closes: defers run in reverse
		watchCommits(cfg.Hub.Metrics, committer)
		if err := routeChain(h.Handle, led, mgr, committer, addr, backend, chainKey, token, cfg.Chain.RelayMinWei); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := mgr.Start(ctx); err != nil {
		return err
	}
	defer mgr.Wait()
	if err := createDefaultJobs(ctx, cfg, db, mgr); err != nil {
		return err
	}
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	err = h.Serve(ctx, ln)
	cancel()
	return err
}

// createDefaultJobs creates the default jobs of cfg.Jobs on a hub's first
// start (no job in the database) or, with EnsureJobs, those of them that
// no existing job is named after. One that fails is logged and skipped.
func createDefaultJobs(ctx context.Context, cfg Config, db *store.DB, mgr *train.Manager) error {
	if !cfg.DefaultJob && !cfg.EnsureJobs {
		return nil
	}
	jobs, err := db.Jobs(ctx)
	if err != nil {
		return err
	}
	if len(jobs) > 0 && !cfg.EnsureJobs {
		return nil
	}
	have := map[string]bool{}
	for _, j := range jobs {
		have[j.Name] = true
	}
	for _, name := range cfg.Jobs {
		if have[name] {
			continue
		}
		spec, ok := train.DefaultSpec(name)
		if !ok {
			return fmt.Errorf("no default job is named %q (there are %s)", name, strings.Join(train.DefaultSpecNames(), ", "))
		}
		// A default job that cannot run here (a machine without Go's
		// source tree for gocode-lm) must not keep the hub and its other
		// jobs from serving: it is recorded as failed, with the reason, in
		// the job list.
		if _, err := mgr.CreateListed(ctx, spec); err != nil {
			log := cmp.Or(cfg.Hub.Logger, slog.Default())
			log.Error("cannot create a default job; the hub serves without it", "job", name, "err", err)
		}
		have[name] = true
	}
	return nil
}

// adminToken reads the admin token from the data directory, creating a
// random one (mode 0600) on first start.
func adminToken(dir string) (string, error) {
	path := filepath.Join(dir, tokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if len(tok) < 32 {
			return "", fmt.Errorf("admin token in %s is too short (delete it to make a new one)", path)
		}
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	var b [32]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create admin token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, f.Close()
}

// openArbiter compiles the built-in WebAssembly reference kernels for the
// wazero sandbox, the hub's arbiter. A binary built without them (plain
// `go build` rather than make) arbitrates natively instead, and says so.
func openArbiter(ctx context.Context, log *slog.Logger) (*sandbox.Module, error) {
	if log == nil {
		log = slog.Default()
	}
	wasm, err := sandbox.Builtin()
	if errors.Is(err, sandbox.ErrNoBuiltin) {
		log.Warn("built without the WebAssembly kernels (make kernels); arbitrating natively instead of in the sandbox")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg := sandbox.DefaultConfig()
	// Our own module: run it at full speed and bound it by the task shape
	// limits rather than by wazero's (much slower) interruptible mode.
	cfg.Interrupt = false
	cfg.Timeout = 2 * time.Minute
	m, err := sandbox.Compile(ctx, wasm, cfg)
	if err != nil {
		return nil, fmt.Errorf("compile the arbitration kernels: %w", err)
	}
	log.Info("arbitration sandbox ready", "module", m.Hash[:12])
	return m, nil
}
