package sandbox

import (
	"errors"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// pageSize is the size of a WebAssembly memory page.
const pageSize = 64 << 10

// Config sets the limits under which a Module runs. Start from
// DefaultConfig; a zero field takes the default.
type Config struct {
	// MemoryLimitBytes caps the linear memory of each instance, rounded
	// down to whole 64 KiB pages. It must hold the Go runtime (a few MiB),
	// the three operands and the garbage they leave behind.
	MemoryLimitBytes uint64
	// Timeout bounds one MatMul: instantiation, copies and the kernel. The
	// earlier of it and the caller's deadline applies.
	Timeout time.Duration
	// Interrupt compiles the module so that the guest is stopped where it
	// stands when the deadline passes (wazero's WithCloseOnContextDone).
	// That makes the kernel several times slower, so it is for modules that
	// are not trusted to finish: ones shipped by content hash. Without it
	// MatMul still returns at the deadline, but the guest runs to the end
	// of its work on a background goroutine, which is bounded only because
	// the built-in kernels do O(M·K·N) work on a shape kernel.Check allows.
	Interrupt bool
	// Cache holds compiled machine code; modules compiled with the same
	// cache and the same bytes compile once. Nil uses CacheDir, or else one
	// in-memory cache shared by the process.
	Cache wazero.CompilationCache
	// CacheDir, if set and Cache is nil, keeps compiled machine code on
	// disk so that a restarted process skips compilation (~0.6 s).
	CacheDir string
}

// DefaultConfig returns the limits for untrusted modules: 256 MiB of
// memory, 30 s per call, interruptible.
func DefaultConfig() Config {
	return Config{
		MemoryLimitBytes: 256 << 20,
		Timeout:          30 * time.Second,
		Interrupt:        true,
	}
}

// withDefaults fills zero fields from DefaultConfig. Interrupt is a bool,
// so its zero value is a choice, not a gap.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.MemoryLimitBytes == 0 {
		c.MemoryLimitBytes = d.MemoryLimitBytes
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Timeout < 0 {
		return c, errors.New("timeout must be positive")
	}
	if c.MemoryLimitBytes < pageSize || c.MemoryLimitBytes > 1<<32 {
		return c, errors.New("memory limit must be between 64 KiB and 4 GiB")
	}
	return c, nil
}

// memoryLimitPages is MemoryLimitBytes in whole pages.
func (c Config) memoryLimitPages() uint32 { return uint32(c.MemoryLimitBytes / pageSize) }

// sharedCache is the in-memory compilation cache used when Config names none.
var sharedCache = sync.OnceValue(wazero.NewCompilationCache)

// cache returns the compilation cache c selects.
func (c Config) cache() (wazero.CompilationCache, error) {
	if c.Cache != nil {
		return c.Cache, nil
	}
	if c.CacheDir != "" {
		return wazero.NewCompilationCacheWithDir(c.CacheDir)
	}
	return sharedCache(), nil
}
