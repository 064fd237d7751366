//go:build js

package gpu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall/js"
	"time"

	"github.com/cogentcore/webgpu/jsx"
	"github.com/cogentcore/webgpu/wgpu"
)

// platform holds the browser objects a Device keeps besides the wgpu
// device: the JS GPUDevice, for error scopes and destroy().
type platform struct {
	device js.Value
}

func (p platform) release() {
	if p.device.Truthy() {
		p.device.Call("destroy")
	}
}

// openDevice requests an adapter and a device from navigator.gpu directly
// through syscall/js and wraps the device with wgpu.NewDevice. Doing the
// requests here, rather than through wgpu.Instance, gives access to what
// the wgpu package leaves out in the browser: adapter.info (GetInfo is
// empty on js), isFallbackAdapter, requiredLimits (dropped by the js
// RequestDevice) and the GPUDevice for error scopes. The awaits block this
// goroutine until the promises settle; ctx is checked between them.
func openDevice(ctx context.Context, opts Options) (*wgpu.Device, adapterInfo, platform, error) {
	var ai adapterInfo
	gpu := js.Global().Get("navigator").Get("gpu")
	if !gpu.Truthy() {
		return nil, ai, platform{}, fmt.Errorf("navigator.gpu: %w", ErrNoAdapter)
	}
	if w := js.Global().Get("wasm"); !w.Truthy() || !w.Get("instance").Truthy() {
		return nil, ai, platform{}, errors.New("globalThis.wasm is not set: the page loader must set it to the WebAssembly instantiation result")
	}
	adapter, ok := jsx.Await(gpu.Call("requestAdapter", map[string]any{
		"powerPreference":      "high-performance",
		"forceFallbackAdapter": opts.ForceFallbackAdapter,
	}))
	if !ok || !adapter.Truthy() {
		return nil, ai, platform{}, fmt.Errorf("request adapter: %w", ErrNoAdapter)
	}
	if err := ctx.Err(); err != nil {
		return nil, ai, platform{}, err
	}
	ai = jsAdapterInfo(adapter)
	al := adapter.Get("limits")
	l := requiredLimits(jsUint(al.Get("maxStorageBufferBindingSize")), jsUint(al.Get("maxBufferSize")))
	req := map[string]any{}
	if l.MaxStorageBufferBindingSize != wgpu.LimitU64Undefined {
		req["maxStorageBufferBindingSize"] = float64(l.MaxStorageBufferBindingSize)
	}
	if l.MaxBufferSize != wgpu.LimitU64Undefined {
		req["maxBufferSize"] = float64(l.MaxBufferSize)
	}
	dev, ok := jsx.Await(adapter.Call("requestDevice", map[string]any{
		"label":          "tessera",
		"requiredLimits": req,
	}))
	if !ok || !dev.Truthy() {
		return nil, ai, platform{}, fmt.Errorf("request device on %s: %w", ai.name, ErrNoAdapter)
	}
	wd := wgpu.NewDevice(dev)
	return &wd, ai, platform{device: dev}, nil
}

// jsAdapterInfo reads adapter.info (vendor, architecture, device,
// description). Browsers do not report the adapter type; a fallback
// adapter or a known software renderer counts as "cpu", anything else as
// "gpu".
func jsAdapterInfo(adapter js.Value) adapterInfo {
	info := adapter.Get("info")
	var parts []string
	fallback := adapter.Get("isFallbackAdapter").Truthy()
	if info.Truthy() {
		for _, key := range []string{"description", "vendor", "architecture", "device"} {
			if v := info.Get(key); v.Type() == js.TypeString && strings.TrimSpace(v.String()) != "" {
				parts = append(parts, strings.TrimSpace(v.String()))
			}
		}
		fallback = fallback || info.Get("isFallbackAdapter").Truthy()
	}
	name := strings.Join(parts, " ")
	if name == "" {
		name = "WebGPU adapter"
	}
	ai := adapterInfo{name: name, typ: "gpu", software: fallback || isSoftwareName(name)}
	if ai.software {
		ai.typ = "cpu"
	}
	return ai
}

// jsUint converts a JS number to uint64 (0 if it is not a number).
func jsUint(v js.Value) uint64 {
	if v.Type() != js.TypeNumber {
		return 0
	}
	return uint64(v.Float())
}

// errorScope runs fn inside validation and out-of-memory error scopes and
// returns fn's error joined with any error the scopes caught. In the
// browser, creating calls return no errors (invalid WGSL included); the
// scopes are how they surface. Popping awaits a promise, so errorScope
// must not be called from a js.FuncOf callback.
func (d *Device) errorScope(fn func() error) error {
	dev := d.plat.device
	dev.Call("pushErrorScope", "out-of-memory")
	dev.Call("pushErrorScope", "validation")
	err := fn()
	return errors.Join(err, popErrorScope(dev), popErrorScope(dev))
}

// popErrorScope pops an error scope and returns its error, if any.
func popErrorScope(dev js.Value) error {
	v, ok := jsx.Await(dev.Call("popErrorScope"))
	if !ok {
		return fmt.Errorf("pop error scope: %s", jsString(v))
	}
	if v.Truthy() {
		return fmt.Errorf("webgpu: %s", jsString(v.Get("message")))
	}
	return nil
}

// jsString formats a JS value for an error message.
func jsString(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return js.Global().Get("String").Invoke(v).String()
}

// endPass ends a compute pass (End returns nothing on js).
func endPass(p *wgpu.ComputePassEncoder) error {
	p.End()
	return nil
}

// submit submits one command buffer (Submit returns nothing on js).
func submit(q *wgpu.Queue, cmd *wgpu.CommandBuffer) { q.Submit(cmd) }

// pollAfter returns nil in the browser: waitMapped then blocks on the map
// promise and ctx alone, as Poll does nothing there.
func pollAfter(time.Duration) <-chan time.Time { return nil }

// upload writes data to the start of buf. The binding's Queue.WriteBuffer
// (cogentcore/webgpu v0.23.0) hands writeBuffer a view of the wasm memory;
// if the Go heap grows the memory before the browser reads the view, the
// view is detached and writeBuffer throws. Instead the data is copied into
// a staging buffer created mapped (CreateBufferInit copies with
// js.CopyBytesToJS), and the GPU copies it into place ahead of the
// dispatch. The staging buffer is destroyed at once: WebGPU frees it after
// the submitted copy completes.
func (d *Device) upload(buf *wgpu.Buffer, data []byte) error {
	staging, err := d.dev.CreateBufferInit(&wgpu.BufferInitDescriptor{Contents: data, Usage: wgpu.BufferUsageCopySrc})
	if err != nil {
		return fmt.Errorf("create staging buffer: %w", err)
	}
	defer staging.Destroy()
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return fmt.Errorf("create command encoder: %w", err)
	}
	if err := enc.CopyBufferToBuffer(staging, 0, buf, 0, uint64(len(data))); err != nil {
		return fmt.Errorf("copy staging buffer: %w", err)
	}
	cmd, err := enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("finish upload: %w", err)
	}
	submit(d.queue, cmd)
	return nil
}

// startMap starts mapping size bytes of buf for reading. On js MapAsync
// awaits the promise (blocking its goroutine) and always reports success,
// so it runs in its own goroutine and failures surface in mappedRange.
func startMap(buf *wgpu.Buffer, size uint64) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- buf.MapAsync(wgpu.MapModeRead, 0, size, func(wgpu.BufferMapAsyncStatus) {})
	}()
	return done
}

// mappedRange returns a copy of the mapped bytes. If the map failed, the
// browser throws, which syscall/js turns into a panic; it is returned as
// an error.
func mappedRange(buf *wgpu.Buffer, size uint64) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("read mapped range: %v", r)
		}
	}()
	return buf.GetMappedRange(0, uint(size)), nil
}
