package client

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// moduleRunner runs the kernels of a module the hub shipped, sandboxed.
type moduleRunner interface {
	MatMul(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error
}

// modules holds the kernel modules a client has received, by content
// hash, and which of its ops run through them.
type modules struct {
	mu     sync.Mutex
	byHash map[[protocol.HashSize]byte]moduleRunner
	ops    map[kernel.Op]moduleRunner
}

// add checks m against its hash, compiles it (once per hash) and routes
// its ops that the client lacks to it.
func (ms *modules) add(ctx context.Context, m *protocol.Module, builtin map[kernel.Op]bool) error {
	if sha256.Sum256(m.Wasm) != m.Hash {
		return protocol.Errorf(protocol.CodeBadMessage, "module content does not match its hash %x", m.Hash[:6])
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	r, ok := ms.byHash[m.Hash]
	if !ok {
		var err error
		if r, err = loadModule(ctx, m.Wasm); err != nil {
			return fmt.Errorf("load module %x: %w", m.Hash[:6], err)
		}
		if ms.byHash == nil {
			ms.byHash = map[[protocol.HashSize]byte]moduleRunner{}
		}
		ms.byHash[m.Hash] = r
	}
	if ms.ops == nil {
		ms.ops = map[kernel.Op]moduleRunner{}
	}
	for _, op := range m.Ops {
		if op.Valid() && !builtin[op] {
			ms.ops[op] = r
		}
	}
	return nil
}

// runner returns the module that runs op, or nil for a built-in op.
func (ms *modules) runner(op kernel.Op) moduleRunner {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.ops[op]
}
