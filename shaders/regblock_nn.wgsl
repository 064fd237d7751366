// regblock_nn: C = A·B with A M×K and B K×N, all row-major f32.
//
// RegBlock family: no workgroup memory and no barriers. Each invocation
// computes a 4×4 block of C in registers. Loads outside the matrices are
// clamped to the last row/column (always in bounds, never stored), so the
// inner loop has no branches; only the final store checks the edges.
// Workgroup 8×8 invocations → a 32×32 block of C per workgroup.

struct Dims {
  m: u32,
  k: u32,
  n: u32,
  row0: u32, // first row of C this dispatch covers (for split submissions)
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = dims.m;
  let k = dims.k;
  let n = dims.n;
  let row = dims.row0 + gid.y * 4u;
  let col = gid.x * 4u;
  if (row >= m || col >= n) {
    return;
  }
  // Row starts of A (clamped) and column indices of B (clamped).
  let a0 = row * k;
  let a1 = min(row + 1u, m - 1u) * k;
  let a2 = min(row + 2u, m - 1u) * k;
  let a3 = min(row + 3u, m - 1u) * k;
  let c0 = col;
  let c1 = min(col + 1u, n - 1u);
  let c2 = min(col + 2u, n - 1u);
  let c3 = min(col + 3u, n - 1u);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var bk = 0u;
  for (var p = 0u; p < k; p = p + 1u) {
    let bv = vec4<f32>(b[bk + c0], b[bk + c1], b[bk + c2], b[bk + c3]);
    acc0 = acc0 + a[a0 + p] * bv;
    acc1 = acc1 + a[a1 + p] * bv;
    acc2 = acc2 + a[a2 + p] * bv;
    acc3 = acc3 + a[a3 + p] * bv;
    bk = bk + n;
  }
  store_block(row, col, m, n, acc0, acc1, acc2, acc3);
}

// store_block writes the valid part of a 4×4 block of C at (row, col).
fn store_block(row: u32, col: u32, m: u32, n: u32,
               acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>) {
  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let nr = min(4u, m - row);
  let nc = min(4u, n - col);
  for (var i = 0u; i < nr; i = i + 1u) {
    let base = (row + i) * n + col;
    let v = rows[i];
    c[base] = v.x;
    if (nc > 1u) { c[base + 1u] = v.y; }
    if (nc > 2u) { c[base + 2u] = v.z; }
    if (nc > 3u) { c[base + 3u] = v.w; }
  }
}
