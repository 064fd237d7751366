// Package shaders holds Tessera's WGSL compute kernels and the facts a host
// needs to run them: which source implements an op in a kernel family, the
// bindings and uniform layout every kernel shares, and how many workgroups
// a shape needs.
//
// Entry points: Source returns the WGSL text for (op, family); GeometryOf
// describes a family's workgroup and output block, and its Workgroups and
// BandRows methods size a dispatch; Uniform encodes the dimensions buffer.
//
// Every kernel computes one of the kernel.Op products for arbitrary shapes
// (no dimension needs to be a multiple of a tile) and uses the same
// bindings in group 0:
//
//	@binding(0) A, storage, read
//	@binding(1) B, storage, read
//	@binding(2) C, storage, read_write (written, never read)
//	@binding(3) Dims {m, k, n, row0: u32}, uniform (UniformSize bytes)
//
// All operands are dense row-major float32 with the layouts documented on
// kernel.Op. A dispatch covers the rows of C from Dims.row0 on, as many as
// its workgroup count in y covers (Geometry.Workgroups), which lets a host
// split a large product into several short submissions
// (Geometry.BandRows).
package shaders

import (
	"embed"
	"fmt"

	"github.com/tessera-ai/tessera/internal/kernel"
)

//go:embed *.wgsl
var files embed.FS

// EntryPoint is the name of the compute entry point of every kernel.
const EntryPoint = "main"

// Binding numbers shared by every kernel (bind group 0).
const (
	BindingA    = 0
	BindingB    = 1
	BindingC    = 2
	BindingDims = 3
)

// Source returns the WGSL source of op in the given family.
func Source(op kernel.Op, f Family) (string, error) {
	if !op.Valid() {
		return "", fmt.Errorf("shader source: unknown kernel %v", op)
	}
	if !f.Valid() {
		return "", fmt.Errorf("shader source: unknown family %v", f)
	}
	name := f.String() + "_" + op.String()[len("matmul_"):] + ".wgsl"
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("shader source %s: %w", name, err)
	}
	return string(b), nil
}
