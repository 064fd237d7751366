//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/gpu"
)

// Backend choices accepted by start.
const (
	backendAuto   = "auto"   // WebGPU, falling back to the CPU
	backendWebGPU = "webgpu" // WebGPU or fail
	backendCPU    = "cpu"    // the pure-Go CPU path
)

// openTimeout bounds requesting an adapter and device and compiling the
// kernels; a browser that takes longer is treated as having no WebGPU.
const openTimeout = 30 * time.Second

// openDevice opens the device for backend. With backendAuto any WebGPU
// failure falls back to device.CPU, and fallback says why in words.
func openDevice(ctx context.Context, backend string) (dev device.Device, fallback string, err error) {
	switch backend {
	case backendCPU:
		return device.CPU{}, "the CPU backend was requested (backend=cpu)", nil
	case backendAuto, backendWebGPU:
	default:
		return nil, "", fmt.Errorf("unknown backend %q (want %q, %q or %q)", backend, backendAuto, backendWebGPU, backendCPU)
	}
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	d, err := gpu.Open(octx, gpu.Options{})
	if err == nil {
		return d, "", nil
	}
	if backend == backendWebGPU || ctx.Err() != nil {
		return nil, "", err
	}
	return device.CPU{}, fmt.Sprintf("WebGPU is not usable here (%v)", err), nil
}
