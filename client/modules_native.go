//go:build !js

package client

import (
	"context"
	"time"

	"github.com/tessera-ai/tessera/internal/sandbox"
)

// loadModule compiles a shipped module for the wazero sandbox: at most
// 256 MiB of memory, and a call that runs past 2 minutes is abandoned. The
// module runs at full speed (no interruption checks, which cost 8x); a
// runaway call keeps a core busy until it ends, bounded by the task shape
// limits. Sandboxed kernels run 11–21x slower than the native Go path
// (internal/sandbox benchmarks), so only ops the client lacks use them.
func loadModule(ctx context.Context, wasm []byte) (moduleRunner, error) {
	cfg := sandbox.DefaultConfig()
	cfg.Interrupt = false
	cfg.Timeout = 2 * time.Minute
	return sandbox.Compile(ctx, wasm, cfg)
}
