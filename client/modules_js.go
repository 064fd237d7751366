//go:build js

package client

import (
	"context"
	"errors"
)

// loadModule is not available in the browser, whose client has every
// kernel built in (and must not carry a WebAssembly runtime of its own).
func loadModule(ctx context.Context, wasm []byte) (moduleRunner, error) {
	return nil, errors.New("kernel modules are not supported in the browser")
}
