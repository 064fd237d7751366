// The host contract every kernel shares (package shaders): the bindings of
// group 0 and the Dims uniform (UniformSize bytes, written by Uniform).
// Source puts it between a variant's constants and its family's code; the
// header defines elem, the element type of the operand arrays (f32, or
// vec4<f32> for the Vec4 family).

struct Dims {
  m: u32,
  k: u32,
  n: u32,
  row0: u32, // first row of C this dispatch covers (for split submissions)
  z0: u32,   // first product of the batch this dispatch covers
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<elem>;
@group(0) @binding(1) var<storage, read> b: array<elem>;
@group(0) @binding(2) var<storage, read_write> c: array<elem>;
@group(0) @binding(3) var<uniform> dims: Dims;
