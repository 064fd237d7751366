// RegBlock family: no workgroup memory and no barriers. Each invocation
// computes 8 rows × 4 columns of C in registers: 8 consecutive rows, and
// columns 8 apart (col, col+8, col+16, col+24), so that the 8 invocations
// along x read 8 consecutive elements of a row of B and write 8
// consecutive elements of C, while all of them read the same element of
// A. That is a coalesced access on a GPU, and on a CPU implementation
// that runs invocations side by side in SIMD lanes (lavapipe) it is one
// vector load where consecutive columns per invocation (4 apart across
// lanes) were a gather. Loads outside the matrices are
// clamped to the last row/column (always in bounds, never stored), so the
// inner loop has no branches; only the final store checks the edges.
// Workgroup 8×8 invocations → a 64×32 block of C per workgroup; workgroup
// z is the product of the batch (from dims.z0 on). Eight rows rather than
// four: each element of B loaded serves eight multiply-adds, not four; on
// lavapipe, alternating runs, the language model's tile shapes and 1024²
// went 15–30% faster.
//
// Template: Source prepends a header naming the variant, TRANS_A and
// TRANS_B (whether A and B are stored transposed, i.e. K×M and N×K) and
// bindings.wgsl (a, b, c and dims).
// op(A)[i, p] is a[a_off + i * a_rs + p * a_ks], op(B)[p, j] is
// b[b_off + p * b_ks + j * b_cs]; one stride of each is the constant 1.

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = dims.m;
  let k = dims.k;
  let n = dims.n;
  let row = dims.row0 + gid.y * 8u;
  // Workgroup x covers columns 32·(gid.x / 8) to +31; invocation lane
  // (gid.x mod 8) takes lane, lane+8, lane+16 and lane+24 of them.
  let col = (gid.x / 8u) * 32u + gid.x % 8u;
  if (row >= m || col >= n) {
    return;
  }
  let z = dims.z0 + gid.z;
  let a_rs = select(k, 1u, TRANS_A);
  let a_ks = select(1u, m, TRANS_A);
  let b_ks = select(n, 1u, TRANS_B);
  let b_cs = select(1u, k, TRANS_B);
  // Starts of rows of op(A) and of columns of op(B) (clamped).
  let a_off = z * m * k;
  let a0 = a_off + row * a_rs;
  let a1 = a_off + min(row + 1u, m - 1u) * a_rs;
  let a2 = a_off + min(row + 2u, m - 1u) * a_rs;
  let a3 = a_off + min(row + 3u, m - 1u) * a_rs;
  let a4 = a_off + min(row + 4u, m - 1u) * a_rs;
  let a5 = a_off + min(row + 5u, m - 1u) * a_rs;
  let a6 = a_off + min(row + 6u, m - 1u) * a_rs;
  let a7 = a_off + min(row + 7u, m - 1u) * a_rs;
  let b_off = z * k * n;
  let c0 = b_off + col * b_cs;
  let c1 = b_off + min(col + 8u, n - 1u) * b_cs;
  let c2 = b_off + min(col + 16u, n - 1u) * b_cs;
  let c3 = b_off + min(col + 24u, n - 1u) * b_cs;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var ak = 0u;
  var bk = 0u;
  for (var p = 0u; p < k; p = p + 1u) {
    let bv = vec4<f32>(b[bk + c0], b[bk + c1], b[bk + c2], b[bk + c3]);
    acc0 = acc0 + a[ak + a0] * bv;
    acc1 = acc1 + a[ak + a1] * bv;
    acc2 = acc2 + a[ak + a2] * bv;
    acc3 = acc3 + a[ak + a3] * bv;
    acc4 = acc4 + a[ak + a4] * bv;
    acc5 = acc5 + a[ak + a5] * bv;
    acc6 = acc6 + a[ak + a6] * bv;
    acc7 = acc7 + a[ak + a7] * bv;
    ak = ak + a_ks;
    bk = bk + b_ks;
  }
  store_block(z * m * n, row, col, m, n, acc0, acc1, acc2, acc3);
  if (row + 4u < m) {
    store_block(z * m * n, row + 4u, col, m, n, acc4, acc5, acc6, acc7);
  }
}

// store_block writes the valid part of an invocation's block of C: rows
// row to row+3, columns col, col+8, col+16 and col+24, of the product
// whose C starts at c_off.
fn store_block(c_off: u32, row: u32, col: u32, m: u32, n: u32,
               acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>) {
  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let nr = min(4u, m - row);
  for (var i = 0u; i < nr; i = i + 1u) {
    let base = c_off + (row + i) * n + col;
    let v = rows[i];
    c[base] = v.x;
    if (col + 8u < n) { c[base + 8u] = v.y; }
    if (col + 16u < n) { c[base + 16u] = v.z; }
    if (col + 24u < n) { c[base + 24u] = v.w; }
  }
}
