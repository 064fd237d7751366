// tiled_nn: C = A·B with A M×K and B K×N, all row-major f32.
//
// Tiled family, for real GPUs: a workgroup of 16×16 invocations computes a
// 64×64 block of C, staging 64×16 slices of op(A) and 16×64 slices of op(B)
// in workgroup memory (8 KiB) between barriers. Each invocation accumulates
// a 4×4 sub-block whose rows and columns are strided by 16, so reads of the
// staged tiles are spread across banks. Elements outside the matrices are
// staged as zero; only valid elements of C are stored.

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

const BM = 64u;
const BN = 64u;
const BK = 16u;

var<workgroup> tile_a: array<f32, 1024>; // [i * BK + kk], i < BM
var<workgroup> tile_b: array<f32, 1024>; // [kk * BN + j], j < BN

// stage_a copies element idx of the 64×16 slice of A (row-major, coalesced
// along k) into tile_a, or zero outside A.
fn stage_a(idx: u32, row_base: u32, k0: u32, m: u32, k: u32) {
  let i = idx / BK;
  let kk = idx % BK;
  let row = row_base + i;
  let p = k0 + kk;
  var v = 0.0;
  if (row < m && p < k) {
    v = a[row * k + p];
  }
  tile_a[i * BK + kk] = v;
}

// stage_b copies element idx of the 16×64 slice of B (coalesced along n)
// into tile_b, or zero outside B.
fn stage_b(idx: u32, col_base: u32, k0: u32, n: u32, k: u32) {
  let kk = idx / BN;
  let j = idx % BN;
  let p = k0 + kk;
  let col = col_base + j;
  var v = 0.0;
  if (p < k && col < n) {
    v = b[p * n + col];
  }
  tile_b[kk * BN + j] = v;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = dims.m;
  let k = dims.k;
  let n = dims.n;
  let row_base = dims.row0 + wg.y * BM;
  let col_base = wg.x * BN;
  let t = lid.y * 16u + lid.x;

  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < k; k0 = k0 + BK) {
    for (var e = 0u; e < 4u; e = e + 1u) {
      let idx = t + 256u * e;
      stage_a(idx, row_base, k0, m, k);
      stage_b(idx, col_base, k0, n, k);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      let bv = vec4<f32>(tile_b[kk * BN + lid.x],
                         tile_b[kk * BN + lid.x + 16u],
                         tile_b[kk * BN + lid.x + 32u],
                         tile_b[kk * BN + lid.x + 48u]);
      for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = acc[i] + tile_a[(lid.y + 16u * i) * BK + kk] * bv;
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i = i + 1u) {
    let row = row_base + lid.y + 16u * i;
    if (row >= m) {
      break;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let col = col_base + lid.x + 16u * j;
      if (col < n) {
        c[row * n + col] = acc[i][j];
      }
    }
  }
}
