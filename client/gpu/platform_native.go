//go:build !js

package gpu

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cogentcore/webgpu/wgpu"
)

// platform holds the native objects a Device keeps besides the device.
type platform struct {
	instance *wgpu.Instance
	adapter  *wgpu.Adapter
}

func (p platform) release() {
	p.adapter.Release()
	p.instance.Release()
}

// openDevice requests a native adapter and device through wgpu-native.
func openDevice(ctx context.Context, opts Options) (dev *wgpu.Device, ai adapterInfo, p platform, err error) {
	defer func() {
		// wgpu-native panics when it cannot create an instance.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrNoAdapter, r)
		}
	}()
	p.instance = wgpu.CreateInstance(nil)
	p.adapter, err = p.instance.RequestAdapter(&wgpu.RequestAdapterOptions{
		PowerPreference:      wgpu.PowerPreferenceHighPerformance,
		ForceFallbackAdapter: opts.ForceFallbackAdapter,
	})
	if err != nil {
		p.instance.Release()
		return nil, ai, p, fmt.Errorf("request adapter: %w: %v", ErrNoAdapter, err)
	}
	ai = nativeAdapterInfo(p.adapter.GetInfo())
	al := p.adapter.GetLimits().Limits
	limits := requiredLimits(al.MaxStorageBufferBindingSize, al.MaxBufferSize)
	dev, err = p.adapter.RequestDevice(&wgpu.DeviceDescriptor{
		Label:          "tessera",
		RequiredLimits: &wgpu.RequiredLimits{Limits: limits},
	})
	if err != nil {
		p.release()
		return nil, ai, p, fmt.Errorf("request device on %s: %w: %v", ai.name, ErrNoAdapter, err)
	}
	return dev, ai, p, nil
}

// nativeAdapterInfo turns wgpu-native's adapter info into adapterInfo.
// lavapipe reports Name "0x0" and its readable name in DriverDescription,
// so the readable name is the first of Name, DriverDescription and
// VendorName that is not a bare hex id.
func nativeAdapterInfo(info wgpu.AdapterInfo) adapterInfo {
	name := ""
	for _, s := range []string{info.Name, info.DriverDescription, info.VendorName} {
		if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "0x") {
			name = s
			break
		}
	}
	if name == "" {
		name = fmt.Sprintf("adapter %04x:%04x", info.VendorId, info.DeviceId)
	}
	if d := strings.TrimSpace(info.DriverDescription); d != "" && d != name {
		name += " (" + d + ")"
	}
	typ := info.AdapterType.String()
	if typ == "" {
		typ = "unknown"
	}
	return adapterInfo{
		name:     name,
		typ:      typ,
		software: info.AdapterType == wgpu.AdapterTypeCPU || isSoftwareName(name),
	}
}

// errorScope runs fn. Natively the wgpu package already checks every
// creating call in its own error scope and returns the error.
func (d *Device) errorScope(fn func() error) error { return fn() }

// endPass ends a compute pass.
func endPass(p *wgpu.ComputePassEncoder) error { return p.End() }

// submit submits one command buffer.
func submit(q *wgpu.Queue, cmd *wgpu.CommandBuffer) { q.Submit(cmd) }

// pollAfter paces waitMapped's non-blocking polls.
func pollAfter(d time.Duration) <-chan time.Time { return time.After(d) }

// upload writes data to the start of buf through the queue.
func (d *Device) upload(buf *wgpu.Buffer, data []byte) error {
	return d.queue.WriteBuffer(buf, 0, data)
}

// mappedRange returns the mapped bytes (valid until Unmap).
func mappedRange(buf *wgpu.Buffer, size uint64) (b []byte, err error) {
	defer func() {
		// GetMappedRange panics on a nil mapping (unsafe.Slice of nil).
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("mapped range unavailable: %v", r)
		}
	}()
	return buf.GetMappedRange(0, uint(size)), nil
}
