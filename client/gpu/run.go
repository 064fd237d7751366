package gpu

import (
	"context"
	"errors"
	"fmt"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// Run computes c = op(a)·op(b) for shape s on the GPU, overwriting c.
// Operands are validated with kernel.Check; bad operands, a closed device,
// operands beyond the device's limits and GPU failures are returned as
// errors. If ctx ends while Run waits for the GPU, Run returns ctx.Err()
// and c is left unspecified; the abandoned work finishes in the background
// and the next Run waits for it.
func (d *Device) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := kernel.Check(op, s, a, b, c); err != nil {
		return fmt.Errorf("gpu run: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.finishPending(ctx); err != nil {
		return err
	}
	if err := d.run(ctx, op, s, a, b, c); err != nil {
		return fmt.Errorf("gpu run %v %v: %w", op, s, err)
	}
	return nil
}

// run uploads the operands, submits the kernel in bands (whole products of
// a batch, or bands of rows of one product; shaders.Geometry.Bands) and
// reads C back.
func (d *Device) run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	cBytes := uint64(len(c)) * 4
	if err := d.ensureBuffers(uint64(len(a))*4, uint64(len(b))*4, cBytes); err != nil {
		return err
	}
	bg, err := d.bindGroupFor()
	if err != nil {
		return err
	}
	pipe, family := d.kernel(op, s)
	bs := &d.bufs
	err = d.errorScope(func() error {
		if err := d.upload(bs.a.buf, wgpu.ToBytes(a)); err != nil {
			return fmt.Errorf("write A: %w", err)
		}
		if err := d.upload(bs.b.buf, wgpu.ToBytes(b)); err != nil {
			return fmt.Errorf("write B: %w", err)
		}
		g := shaders.GeometryOf(family)
		for band := range g.Bands(s, d.opts.MaxSubmitFLOPs, d.maxGroups()) {
			if err := ctx.Err(); err != nil {
				return err
			}
			last := band.Z0+band.Products == s.Count() && band.Row0+band.Rows == s.M
			if err := d.upload(bs.dims.buf, shaders.Uniform(s, band)); err != nil {
				return fmt.Errorf("write dims: %w", err)
			}
			x, y, z := g.Workgroups(s, band)
			if err := d.submitBand(pipe, bg, x, y, z, last, cBytes); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.readback(ctx, c)
}

// kernel returns the pipeline that runs op on shape s, and its family:
// the device's, or its fallback for a shape the device's kernels cannot
// run (shaders.Family.For).
func (d *Device) kernel(op kernel.Op, s kernel.Shape) (*wgpu.ComputePipeline, shaders.Family) {
	f := d.family.For(s)
	return d.pipelines[pipeKey{f, op}], f
}

// submitBand encodes and submits one dispatch of x×y×z workgroups (the
// band's first row and product are in the dims uniform); the last band
// also copies C to the readback buffer.
func (d *Device) submitBand(pipe *wgpu.ComputePipeline, bg *wgpu.BindGroup, x, y, z uint32, last bool, cBytes uint64) error {
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return fmt.Errorf("create command encoder: %w", err)
	}
	defer enc.Release()
	pass := enc.BeginComputePass(nil)
	pass.SetPipeline(pipe)
	pass.SetBindGroup(0, bg, nil)
	pass.DispatchWorkgroups(x, y, z)
	err = endPass(pass)
	pass.Release()
	if err != nil {
		return fmt.Errorf("end compute pass: %w", err)
	}
	if last {
		if err := enc.CopyBufferToBuffer(d.bufs.c.buf, 0, d.bufs.readback.buf, 0, cBytes); err != nil {
			return fmt.Errorf("copy C to readback: %w", err)
		}
	}
	cmd, err := enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("finish command buffer: %w", err)
	}
	defer cmd.Release()
	submit(d.queue, cmd)
	return nil
}

// maxGroups is the most workgroups a dispatch may have in one dimension:
// the device's limit, at most WebGPU's default (which every adapter
// offers), or the lower limit a test set.
func (d *Device) maxGroups() int {
	n := shaders.MaxWorkgroupsPerDimension
	if l := int(d.limits.MaxComputeWorkgroupsPerDimension); l > 0 && l < n {
		n = l
	}
	if d.groupLimit > 0 {
		n = min(n, d.groupLimit)
	}
	return n
}

// readback maps the readback buffer, copies C out and unmaps it.
func (d *Device) readback(ctx context.Context, c []float32) error {
	size := uint64(len(c)) * 4
	rb := d.bufs.readback.buf
	done := startMap(rb, size)
	if err := d.waitMapped(ctx, done); err != nil {
		if ctx.Err() != nil {
			d.pending = done
			return err
		}
		return fmt.Errorf("map readback: %w", err)
	}
	data, err := mappedRange(rb, size)
	if err == nil {
		copy(c, wgpu.FromBytes[float32](data))
	}
	if uerr := rb.Unmap(); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unmap readback: %w", uerr))
	}
	return err
}

// finishPending waits for a readback abandoned by a cancelled Run and
// unmaps the buffer, so that it can be used again.
func (d *Device) finishPending(ctx context.Context) error {
	if d.pending == nil {
		return nil
	}
	err := d.waitMapped(ctx, d.pending)
	if err != nil && ctx.Err() != nil {
		return err // still pending
	}
	d.pending = nil
	if err == nil {
		if err := d.bufs.readback.buf.Unmap(); err != nil {
			return fmt.Errorf("unmap abandoned readback: %w", err)
		}
	}
	return nil
}
