// Package backend picks the compute device a contributor runs on:
// WebGPU (client/gpu) when an adapter works, otherwise the pure-Go CPU
// path (device.CPU). Both the edge command and the browser client use it.
package backend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/shaders"
)

// Names lists the accepted backend names.
var Names = []string{"auto", "webgpu", "cpu"}

// Open returns the device for name: "webgpu" (fail if no adapter works),
// "cpu", or "auto" (WebGPU, else the CPU fallback, logging why). A
// nonzero family forces WebGPU's kernel family (otherwise chosen per
// adapter).
func Open(ctx context.Context, name string, family shaders.Family, log *slog.Logger) (device.Device, error) {
	switch name {
	case "cpu":
		return device.CPU{}, nil
	case "webgpu", "auto":
		opts := gpu.DefaultOptions()
		opts.Family = family
		d, err := gpu.Open(ctx, opts)
		if err == nil {
			return d, nil
		}
		if name == "webgpu" {
			return nil, fmt.Errorf("open WebGPU: %w", err)
		}
		log.Warn("no usable WebGPU adapter; using the CPU fallback", "reason", err)
		return device.CPU{}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: want one of %v", name, Names)
}
