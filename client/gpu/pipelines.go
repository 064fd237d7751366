package gpu

import (
	"fmt"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// pipeKey names a pipeline: an op in a kernel family.
type pipeKey struct {
	family shaders.Family
	op     kernel.Op
}

// buildPipelines creates the bind group layout shared by every kernel, the
// pipeline layout, and one compute pipeline per op of d.family and of its
// fallback family (the shapes it cannot run; shaders.Family.For). Layouts are
// explicit (no GetBindGroupLayout): the browser build lacks it, and one
// layout lets a single bind group serve every pipeline.
func (d *Device) buildPipelines() error {
	storage := func(binding uint32, t wgpu.BufferBindingType) wgpu.BindGroupLayoutEntry {
		return wgpu.BindGroupLayoutEntry{
			Binding:    binding,
			Visibility: wgpu.ShaderStageCompute,
			Buffer:     wgpu.BufferBindingLayout{Type: t},
		}
	}
	uniform := storage(shaders.BindingDims, wgpu.BufferBindingTypeUniform)
	uniform.Buffer.MinBindingSize = shaders.UniformSize
	err := d.errorScope(func() (err error) {
		d.bindLayout, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{
			Label: "tessera-matmul",
			Entries: []wgpu.BindGroupLayoutEntry{
				storage(shaders.BindingA, wgpu.BufferBindingTypeReadOnlyStorage),
				storage(shaders.BindingB, wgpu.BufferBindingTypeReadOnlyStorage),
				storage(shaders.BindingC, wgpu.BufferBindingTypeStorage),
				uniform,
			},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("create bind group layout: %w", err)
	}
	err = d.errorScope(func() (err error) {
		d.pipeLayout, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{
			Label:            "tessera-matmul",
			BindGroupLayouts: []*wgpu.BindGroupLayout{d.bindLayout},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("create pipeline layout: %w", err)
	}
	for _, f := range []shaders.Family{d.family, d.family.Fallback()} {
		if f == 0 {
			continue
		}
		for _, op := range kernel.Ops {
			if err := d.buildPipeline(pipeKey{f, op}); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildPipeline compiles the WGSL of an op in a family into a pipeline.
func (d *Device) buildPipeline(key pipeKey) error {
	src, err := shaders.Source(key.op, key.family)
	if err != nil {
		return err
	}
	label := key.family.String() + "_" + key.op.String()
	var mod *wgpu.ShaderModule
	err = d.errorScope(func() (err error) {
		mod, err = d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
			Label:          label,
			WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: src},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("create shader module %s: %w", label, err)
	}
	defer mod.Release()
	var p *wgpu.ComputePipeline
	err = d.errorScope(func() (err error) {
		p, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
			Layout: d.pipeLayout,
			Compute: wgpu.ProgrammableStageDescriptor{
				Module:     mod,
				EntryPoint: shaders.EntryPoint,
			},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("create pipeline %s: %w", label, err)
	}
	d.pipelines[key] = p
	return nil
}
