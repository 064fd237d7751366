// Package device defines the compute backends a contributor runs kernels on.
//
// Device is implemented by the WebGPU backend (package client/gpu, native
// wgpu-native and browser navigator.gpu builds) and by CPU, the pure-Go
// fallback used when no adapter works. The executor only sees this interface.
package device

import (
	"context"
	"runtime"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Info describes a device in words a person and the hub can use.
type Info struct {
	// Backend is "webgpu" or "cpu".
	Backend string
	// Adapter is the adapter's readable name ("llvmpipe (LLVM 15.0.7, 256 bits)",
	// "SwiftShader", ...) or, for the CPU backend, the CPU description.
	Adapter string
	// AdapterType is the adapter class reported by WebGPU ("cpu",
	// "discrete-gpu", "integrated-gpu", ...) or "cpu" for the CPU backend.
	AdapterType string
	// Variant names the kernel family chosen for this adapter
	// ("regblock" or "tiled" for WebGPU, "go" for the CPU backend).
	Variant string
}

// Device runs kernels. Implementations may keep GPU buffers and pipelines
// between calls; Run is not safe for concurrent use unless documented.
type Device interface {
	// Info describes the device.
	Info() Info
	// Run computes c = op(a)·op(b) for the given shape, overwriting c;
	// for a batched shape (kernel.Shape.Batch), every product of the batch.
	Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error
	// Close releases the device's resources.
	Close() error
}

// CPU is the pure-Go fallback backend: the kernel package's reference
// implementation. It is safe for concurrent use.
type CPU struct{}

// Info describes the CPU backend.
func (CPU) Info() Info {
	return Info{Backend: "cpu", Adapter: runtime.GOARCH + " CPU (Go)", AdapterType: "cpu", Variant: "go"}
}

// Run computes the kernel, batched shapes included, with kernel.Reference.
func (CPU) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return kernel.Reference(op, s, a, b, c)
}

// Close does nothing.
func (CPU) Close() error { return nil }
