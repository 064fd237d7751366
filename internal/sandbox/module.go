package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Module is a kernels module compiled once under a Config. Every MatMul
// runs in a fresh instance of it, so calls share no guest state and may
// run concurrently. Close it when done.
type Module struct {
	// Hash is the hex SHA-256 of the module's bytes: the name under which
	// the hub ships and the client caches a module.
	Hash string

	cfg      Config
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// baseBytes is the linear memory an instance starts with.
	baseBytes uint64

	mu     sync.Mutex
	closed bool
	// running counts calls in flight, including guests abandoned at their
	// deadline that are still finishing; Close waits for them, because
	// closing the runtime frees the machine code they execute.
	running sync.WaitGroup
}

// i32 is the only value type of the kernels ABI.
const i32 = api.ValueTypeI32

// exports lists the functions the ABI requires, with their signatures.
var exports = map[string]struct{ params, results []api.ValueType }{
	"_initialize": {nil, nil},
	"abi_version": {nil, []api.ValueType{i32}},
	"alloc":       {[]api.ValueType{i32}, []api.ValueType{i32}},
	"matmul":      {[]api.ValueType{i32, i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"exact":       {[]api.ValueType{i32, i32, i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
}

// probeTimeout bounds the instance Compile starts to read the ABI version.
// It is not Config.Timeout, which may be set tight for the kernel alone.
const probeTimeout = 10 * time.Second

// Compile validates and compiles wasm under cfg, then instantiates it once
// to check its ABI version. The Module keeps no reference to wasm.
func Compile(ctx context.Context, wasm []byte, cfg Config) (*Module, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cache, err := cfg.cache()
	if err != nil {
		return nil, fmt.Errorf("open compilation cache: %w", err)
	}
	sum := sha256.Sum256(wasm)
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.memoryLimitPages()).
		WithCloseOnContextDone(cfg.Interrupt)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	m := &Module{Hash: hex.EncodeToString(sum[:]), cfg: cfg, rt: rt}
	if err := m.load(ctx, wasm); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

// load compiles wasm into m.rt and checks the ABI.
func (m *Module) load(ctx context.Context, wasm []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fmt.Errorf("instantiate WASI: %w", err)
	}
	compiled, err := m.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("compile module %.12s: %w", m.Hash, err)
	}
	m.compiled = compiled
	if err := checkExports(compiled); err != nil {
		return fmt.Errorf("module %.12s: %w", m.Hash, err)
	}
	m.baseBytes = uint64(compiled.ExportedMemories()["memory"].Min()) * pageSize

	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	inst, _, err := m.instantiate(ctx, probeTimeout)
	if err != nil {
		return fmt.Errorf("module %.12s: %w", m.Hash, err)
	}
	defer inst.Close(context.Background())
	res, err := inst.ExportedFunction("abi_version").Call(ctx)
	if err != nil {
		return fmt.Errorf("module %.12s: call abi_version: %w", m.Hash, err)
	}
	if v := uint32(res[0]); v != abiVersion {
		return fmt.Errorf("module %.12s: %w: version %d, want %d", m.Hash, ErrABI, v, abiVersion)
	}
	return nil
}

// checkExports reports the first required export that is missing or has
// the wrong signature.
func checkExports(c wazero.CompiledModule) error {
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: no exported memory", ErrABI)
	}
	fns := c.ExportedFunctions()
	for name, sig := range exports {
		fn, ok := fns[name]
		if !ok {
			return fmt.Errorf("%w: no export %s", ErrABI, name)
		}
		if !slices.Equal(fn.ParamTypes(), sig.params) || !slices.Equal(fn.ResultTypes(), sig.results) {
			return fmt.Errorf("%w: export %s has signature %v -> %v", ErrABI, name, fn.ParamTypes(), fn.ResultTypes())
		}
	}
	return nil
}

// instantiate starts a fresh anonymous instance, its stderr captured so
// that a Go runtime abort ("out of memory") can be reported.
func (m *Module) instantiate(ctx context.Context, limit time.Duration) (api.Module, *stderrBuffer, error) {
	stderr := &stderrBuffer{}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithStderr(stderr)
	inst, err := m.rt.InstantiateModule(ctx, m.compiled, mc)
	if err != nil {
		return nil, nil, fmt.Errorf("instantiate: %w", m.classify(ctx, limit, err, stderr))
	}
	return inst, stderr, nil
}

// begin registers a call, or reports that the Module is closed.
func (m *Module) begin() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.running.Add(1)
	return nil
}

// Close waits for calls in flight, including abandoned ones still
// finishing, then frees the compiled code. Later calls return ErrClosed.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.running.Wait()
	if err := m.rt.Close(ctx); err != nil {
		return fmt.Errorf("close runtime: %w", err)
	}
	return nil
}

// Config returns the limits m runs under, defaults filled in.
func (m *Module) Config() Config { return m.cfg }
