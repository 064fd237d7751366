package gpu

import (
	"fmt"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/tessera-ai/tessera/shaders"
)

// gpuBuffer is a buffer with its size (the browser build cannot ask a
// buffer for its size).
type gpuBuffer struct {
	buf  *wgpu.Buffer
	size uint64
}

// buffers are the GPU buffers a Device reuses across calls. Each only
// grows: a call that needs more room replaces it with a larger one and
// bumps generation, which invalidates the cached bind group.
type buffers struct {
	a, b, c    gpuBuffer // storage operands
	dims       gpuBuffer // uniform (shaders.UniformSize bytes)
	readback   gpuBuffer // MapRead copy of c
	generation int       // bumped whenever a buffer is replaced
}

// bufferAlign is the granularity buffer sizes are rounded up to.
const bufferAlign = 256

// ensureBuffers makes every buffer at least as large as the operands need,
// or returns an error wrapping ErrTooLarge if the device cannot hold them.
func (d *Device) ensureBuffers(aBytes, bBytes, cBytes uint64) error {
	const storage = wgpu.BufferUsageStorage | wgpu.BufferUsageCopyDst
	bs := &d.bufs
	steps := []struct {
		buf   *gpuBuffer
		label string
		size  uint64
		usage wgpu.BufferUsage
	}{
		{&bs.a, "tessera-a", aBytes, storage},
		{&bs.b, "tessera-b", bBytes, storage},
		{&bs.c, "tessera-c", cBytes, wgpu.BufferUsageStorage | wgpu.BufferUsageCopySrc},
		{&bs.dims, "tessera-dims", shaders.UniformSize, wgpu.BufferUsageUniform | wgpu.BufferUsageCopyDst},
		{&bs.readback, "tessera-readback", cBytes, wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst},
	}
	for _, s := range steps {
		if s.buf.buf != nil && s.buf.size >= s.size {
			continue
		}
		limit := d.sizeLimit(s.usage)
		if s.size > limit {
			return fmt.Errorf("buffer %s: %w: %d bytes, limit %d", s.label, ErrTooLarge, s.size, limit)
		}
		size := grownSize(s.buf.size, s.size, limit)
		s.buf.destroy()
		bs.generation++
		var buf *wgpu.Buffer
		err := d.errorScope(func() (err error) {
			buf, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: s.label, Size: size, Usage: s.usage})
			return err
		})
		if err != nil {
			return fmt.Errorf("create buffer %s (%d bytes): %w", s.label, size, err)
		}
		*s.buf = gpuBuffer{buf: buf, size: size}
	}
	return nil
}

// sizeLimit is the largest buffer the device allows for the given usage.
func (d *Device) sizeLimit(usage wgpu.BufferUsage) uint64 {
	limit := d.limits.MaxBufferSize
	if usage&wgpu.BufferUsageStorage != 0 {
		limit = min(limit, d.limits.MaxStorageBufferBindingSize)
	}
	return limit
}

// grownSize returns the size of a replacement for a buffer of old bytes
// that must hold need bytes: at least double the old size (so a series of
// growing calls reallocates O(log n) times), rounded up to bufferAlign,
// capped at limit but never below need.
func grownSize(old, need, limit uint64) uint64 {
	size := max(need, 2*old)
	size = (size + bufferAlign - 1) / bufferAlign * bufferAlign
	return max(min(size, limit), need)
}

// destroy frees the buffer, if any.
func (g *gpuBuffer) destroy() {
	if g.buf != nil {
		g.buf.Destroy()
		g.buf.Release()
	}
	*g = gpuBuffer{}
}

// release destroys every buffer.
func (bs *buffers) release() {
	for _, b := range []*gpuBuffer{&bs.a, &bs.b, &bs.c, &bs.dims, &bs.readback} {
		b.destroy()
	}
}

// bindGroupFor returns the bind group over the current buffers, creating
// it only when a buffer was replaced since the last call.
func (d *Device) bindGroupFor() (*wgpu.BindGroup, error) {
	if d.bindGroup != nil && d.bindGen == d.bufs.generation {
		return d.bindGroup, nil
	}
	d.releaseBindGroup()
	bs := &d.bufs
	entry := func(binding uint32, b gpuBuffer) wgpu.BindGroupEntry {
		return wgpu.BindGroupEntry{Binding: binding, Buffer: b.buf, Size: b.size}
	}
	var bg *wgpu.BindGroup
	err := d.errorScope(func() (err error) {
		bg, err = d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{
			Label:  "tessera-matmul",
			Layout: d.bindLayout,
			Entries: []wgpu.BindGroupEntry{
				entry(shaders.BindingA, bs.a),
				entry(shaders.BindingB, bs.b),
				entry(shaders.BindingC, bs.c),
				entry(shaders.BindingDims, bs.dims),
			},
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create bind group: %w", err)
	}
	d.bindGroup, d.bindGen = bg, bs.generation
	return bg, nil
}

// releaseBindGroup drops the cached bind group.
func (d *Device) releaseBindGroup() {
	if d.bindGroup != nil {
		d.bindGroup.Release()
		d.bindGroup = nil
	}
}
