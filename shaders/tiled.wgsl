// Tiled family, for real GPUs: a workgroup of 16×16 invocations computes a
// 64×64 block of C, staging 64×16 slices of op(A) and 16×64 slices of op(B)
// in workgroup memory (8 KiB) between barriers. Each invocation accumulates
// a 4×4 sub-block whose rows and columns are strided by 16, so reads of the
// staged tiles are spread across banks. Elements outside the matrices are
// staged as zero; only valid elements of C are stored. Workgroup z is the
// product of the batch (from dims.z0 on).
//
// Template: Source prepends a header naming the variant, TRANS_A and
// TRANS_B (whether A and B are stored transposed, i.e. K×M and N×K) and
// bindings.wgsl (a, b, c and dims).
// Staging walks each operand along its stored rows, so that neighbouring
// invocations read neighbouring addresses whatever the layout.

const BM = 64u;
const BN = 64u;
const BK = 16u;

var<workgroup> tile_a: array<f32, 1024>; // [i * BK + kk], i < BM
var<workgroup> tile_b: array<f32, 1024>; // [kk * BN + j], j < BN

// stage_a copies element idx of the 64×16 slice of op(A) into tile_a, or
// zero outside A. A is M×K (coalesced along k) or, transposed, K×M
// (coalesced along m); a_off is the start of this product's A.
fn stage_a(idx: u32, a_off: u32, row_base: u32, k0: u32, m: u32, k: u32) {
  var i = idx / BK;
  var kk = idx % BK;
  if (TRANS_A) {
    kk = idx / BM;
    i = idx % BM;
  }
  let row = row_base + i;
  let p = k0 + kk;
  var v = 0.0;
  if (row < m && p < k) {
    if (TRANS_A) {
      v = a[a_off + p * m + row];
    } else {
      v = a[a_off + row * k + p];
    }
  }
  tile_a[i * BK + kk] = v;
}

// stage_b copies element idx of the 16×64 slice of op(B) into tile_b, or
// zero outside B. B is K×N (coalesced along n) or, transposed, N×K
// (coalesced along k); b_off is the start of this product's B.
fn stage_b(idx: u32, b_off: u32, col_base: u32, k0: u32, n: u32, k: u32) {
  var kk = idx / BN;
  var j = idx % BN;
  if (TRANS_B) {
    j = idx / BK;
    kk = idx % BK;
  }
  let p = k0 + kk;
  let col = col_base + j;
  var v = 0.0;
  if (p < k && col < n) {
    if (TRANS_B) {
      v = b[b_off + col * k + p];
    } else {
      v = b[b_off + p * n + col];
    }
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
  let z = dims.z0 + wg.z;
  let a_off = z * m * k;
  let b_off = z * k * n;
  let c_off = z * m * n;

  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < k; k0 = k0 + BK) {
    for (var e = 0u; e < 4u; e = e + 1u) {
      let idx = t + 256u * e;
      stage_a(idx, a_off, row_base, k0, m, k);
      stage_b(idx, b_off, col_base, k0, n, k);
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
        c[c_off + row * n + col] = acc[i][j];
      }
    }
  }
}
