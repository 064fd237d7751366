// Package gpu runs Tessera's kernels on WebGPU: natively through
// wgpu-native (cgo, Vulkan/Metal/D3D12, including Mesa lavapipe on CPU-only
// machines) and in the browser through navigator.gpu (GOOS=js), from one
// code base over github.com/cogentcore/webgpu/wgpu.
//
// Open requests an adapter and a device and returns a *Device that
// implements client/device.Device; when no adapter or device is available
// it returns an error wrapping ErrNoAdapter and the caller falls back to
// device.CPU. The kernel family (see package shaders) is chosen per
// adapter: CPU adapters (lavapipe/llvmpipe, SwiftShader, fallback adapters)
// get the barrier-free Vec4 kernels (and RegBlock's for products whose
// dimensions are not multiples of 4), real GPUs the Tiled kernels;
// Options.Family forces one.
//
// A Device keeps its GPU resources between calls: the pipelines are built
// once, the storage, uniform and readback buffers only grow, and the bind
// group is rebuilt only when a buffer is. Large products are split into
// several short submissions (Options.MaxSubmitFLOPs) so that no single
// submission runs long enough to trip a driver or browser watchdog.
//
// Platform code lives in paired files: *_native.go (build tag !js) and
// *_js.go (build tag js). Browser requirement: the page that loads the
// wasm module must set globalThis.wasm to the WebAssembly instantiation
// result ({instance, module}); the wgpu library reads the wasm memory from
// globalThis.wasm.instance.exports.mem to pass buffers to WebGPU, and the
// first buffer write panics without it. Open checks for it and returns an
// error instead. In the browser, Open and Run wait on JS promises by
// blocking their goroutine: call them from an ordinary goroutine, never
// from inside a js.FuncOf callback (that deadlocks).
package gpu

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/shaders"
)

// ErrNoAdapter is wrapped by Open's error when no WebGPU adapter or device
// can be obtained; the caller should fall back to device.CPU.
var ErrNoAdapter = errors.New("no WebGPU adapter available")

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("gpu device closed")

// ErrTooLarge is wrapped by Run's error when an operand exceeds the
// device's storage binding or buffer size limit.
var ErrTooLarge = errors.New("operand exceeds the device's buffer limits")

// Device runs kernels on one WebGPU device. It implements device.Device.
//
// A Device is safe for concurrent use: calls to Run are serialized by a
// mutex (one GPU queue, one set of buffers), and Close waits for a running
// Run to finish.
type Device struct {
	mu     sync.Mutex
	closed bool

	dev    *wgpu.Device
	queue  *wgpu.Queue
	info   device.Info
	family shaders.Family
	opts   Options
	limits wgpu.Limits // the limits the device was created with
	// groupLimit, when positive, lowers the workgroups per dispatch
	// dimension (tests force batches to be split with it).
	groupLimit int
	plat       platform // per-platform state (instance, adapter, JS handles)

	bindLayout *wgpu.BindGroupLayout
	pipeLayout *wgpu.PipelineLayout
	pipelines  map[pipeKey]*wgpu.ComputePipeline

	bufs      buffers
	bindGroup *wgpu.BindGroup // valid while bufs.generation == bindGen
	bindGen   int
	pending   <-chan error // readback map not yet completed (after a cancelled Run)
}

var _ device.Device = (*Device)(nil)

// closeWait bounds how long Close waits for work abandoned by a cancelled
// Run before freeing the buffers it uses.
const closeWait = time.Minute

// Info describes the device: Backend "webgpu", the adapter's readable name
// and type, and the kernel family in use ("vec4", "regblock" or "tiled").
func (d *Device) Info() device.Info { return d.info }

// Family returns the kernel family the device runs.
func (d *Device) Family() shaders.Family { return d.family }

// Close releases the device's buffers, pipelines and the device itself.
// Further calls to Run return ErrClosed. Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.pending != nil {
		// Let an abandoned readback map finish before freeing its buffer.
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		_ = d.waitMapped(ctx, d.pending)
		cancel()
		d.pending = nil
	}
	d.releaseBindGroup()
	d.bufs.release()
	for _, p := range d.pipelines {
		p.Release()
	}
	if d.pipeLayout != nil {
		d.pipeLayout.Release()
	}
	if d.bindLayout != nil {
		d.bindLayout.Release()
	}
	d.queue.Release()
	d.dev.Release()
	d.plat.release()
	return nil
}
