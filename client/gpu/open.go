package gpu

import (
	"context"
	"fmt"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// adapterInfo is what Open learns about the adapter, on either platform.
type adapterInfo struct {
	name     string // readable name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
	typ      string // "cpu", "discrete-gpu", "integrated-gpu", "gpu", "unknown"
	software bool   // a CPU or fallback adapter
}

// Open requests a WebGPU adapter and device and builds the kernels of the
// chosen family. It returns an error wrapping ErrNoAdapter when WebGPU is
// unavailable (no navigator.gpu, no adapter, device request refused); the
// caller then uses device.CPU.
func Open(ctx context.Context, opts Options) (*Device, error) {
	opts = opts.withDefaults()
	if opts.Family != 0 && !opts.Family.Valid() {
		return nil, fmt.Errorf("open gpu: unknown kernel family %v", opts.Family)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open gpu: %w", err)
	}
	dev, ai, plat, err := openDevice(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("open gpu: %w", err)
	}
	family := opts.Family
	if family == 0 {
		family = familyFor(ai)
	}
	d := &Device{
		dev:    dev,
		queue:  dev.GetQueue(),
		family: family,
		opts:   opts,
		limits: dev.GetLimits().Limits,
		plat:   plat,
		info: device.Info{
			Backend:     "webgpu",
			Adapter:     ai.name,
			AdapterType: ai.typ,
			Variant:     family.String(),
		},
		pipelines: make(map[pipeKey]*wgpu.ComputePipeline),
	}
	if err := d.buildPipelines(); err != nil {
		d.Close()
		return nil, fmt.Errorf("open gpu: %w", err)
	}
	return d, nil
}

// familyFor picks Vec4 for CPU adapters, Tiled for GPUs.
func familyFor(ai adapterInfo) shaders.Family {
	if ai.software {
		return shaders.Vec4
	}
	return shaders.Tiled
}

// softwareNames are substrings (lower case) of the names of CPU adapters.
var softwareNames = []string{"llvmpipe", "lavapipe", "swiftshader", "softpipe",
	"microsoft basic render", "warp"}

// isSoftwareName reports whether an adapter name or description belongs
// to a known CPU implementation of WebGPU.
func isSoftwareName(s string) bool {
	s = strings.ToLower(s)
	for _, n := range softwareNames {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

// requiredLimits returns wgpu.DefaultLimits with the storage binding and
// buffer size raised to what the adapter offers, capped at what the
// largest kernel.Shape operand needs. Only these two fields are taken from
// the adapter: its other reported limits are not trusted (native
// wgpu-native reports an invalid value in one of them).
func requiredLimits(adapterBinding, adapterBuffer uint64) wgpu.Limits {
	const need = uint64(kernel.MaxDim) * kernel.MaxDim * 4
	l := wgpu.DefaultLimits()
	if adapterBinding > 0 && adapterBinding != wgpu.LimitU64Undefined {
		l.MaxStorageBufferBindingSize = min(adapterBinding, need)
	}
	if adapterBuffer > 0 && adapterBuffer != wgpu.LimitU64Undefined {
		l.MaxBufferSize = min(adapterBuffer, need)
	}
	return l
}
