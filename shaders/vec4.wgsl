// Vec4 family, for CPU adapters, and only for products whose M, K and N
// are all multiples of 4 (Family.For gives RegBlock for the others). No
// workgroup memory, no barriers. Each invocation computes a 4×8 block of
// C: rows row to row+3, and the two vec4s of columns from 4·cv on. The
// operands are bound as arrays of vec4<f32> (Source sets elem), so every
// load fetches four consecutive elements of a stored row.
//
// Why vec4: lavapipe (llvmpipe) runs invocations side by side in SIMD
// lanes, and a load from a storage buffer whose address differs between
// lanes becomes a loop over the lanes, one lane at a time, with a bounds
// check per element. A vec4 load is one pass of that loop for four
// elements. Per 4 steps along k an invocation makes 4 loads of op(A) and
// 8 of op(B) for 128 multiply-adds, where RegBlock's scalar loads made 48
// lane loops for the same. Each element of C is still summed one k at a
// time, in order (madd), as the Go reference sums it, so the results
// equal it bit for bit.
//
// Template: Source prepends a header naming the variant, TRANS_A and
// TRANS_B (whether A and B are stored transposed, i.e. K×M and N×K), elem
// and bindings.wgsl (a, b, c and dims). Indices below count vec4s: a row
// of a stored matrix with w columns is w/4 of them.

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = dims.m;
  let k = dims.k;
  let n = dims.n;
  let m4 = m / 4u;
  let k4 = k / 4u;
  let n4 = n / 4u;
  // row is a multiple of 4, as m is: rows row to row+3 all exist.
  let row = dims.row0 + gid.y * 4u;
  let cv = gid.x * 2u;
  if (row >= m || cv >= n4) {
    return;
  }
  let z = dims.z0 + gid.z;
  // This invocation's first vec4 of A, and of each column group of B (the
  // second group clamped to the last: loaded, never stored).
  var a_base = z * m4 * k + row * k4;
  if (TRANS_A) {
    a_base = z * m4 * k + row / 4u;
  }
  let cv1 = min(cv + 1u, n4 - 1u);
  var b_base0 = z * k * n4 + cv;
  var b_base1 = z * k * n4 + cv1;
  if (TRANS_B) {
    b_base0 = z * k * n4 + 4u * cv * k4;
    b_base1 = z * k * n4 + 4u * cv1 * k4;
  }

  var acc00 = vec4<f32>(0.0);
  var acc01 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc20 = vec4<f32>(0.0);
  var acc21 = vec4<f32>(0.0);
  var acc30 = vec4<f32>(0.0);
  var acc31 = vec4<f32>(0.0);
  for (var q = 0u; q < k4; q = q + 1u) {
    let am = load_a(a_base, q, m4, k4);
    let b0 = load_b(b_base0, q, k4, n4);
    let b1 = load_b(b_base1, q, k4, n4);
    acc00 = madd(acc00, am[0], b0);
    acc01 = madd(acc01, am[0], b1);
    acc10 = madd(acc10, am[1], b0);
    acc11 = madd(acc11, am[1], b1);
    acc20 = madd(acc20, am[2], b0);
    acc21 = madd(acc21, am[2], b1);
    acc30 = madd(acc30, am[3], b0);
    acc31 = madd(acc31, am[3], b1);
  }
  let c_row = z * m * n4 + row * n4 + cv;
  c[c_row] = acc00;
  c[c_row + n4] = acc10;
  c[c_row + 2u * n4] = acc20;
  c[c_row + 3u * n4] = acc30;
  if (cv + 1u < n4) {
    c[c_row + 1u] = acc01;
    c[c_row + n4 + 1u] = acc11;
    c[c_row + 2u * n4 + 1u] = acc21;
    c[c_row + 3u * n4 + 1u] = acc31;
  }
}

// load_a returns op(A)[row+i, 4q+kk] as column i, component kk: A stored
// M×K gives a vec4 of each row, A stored K×M a vec4 of each k, transposed.
fn load_a(base: u32, q: u32, m4: u32, k4: u32) -> mat4x4<f32> {
  if (TRANS_A) {
    let p = base + 4u * q * m4;
    return transpose(mat4x4<f32>(a[p], a[p + m4], a[p + 2u * m4], a[p + 3u * m4]));
  }
  let p = base + q;
  return mat4x4<f32>(a[p], a[p + k4], a[p + 2u * k4], a[p + 3u * k4]);
}

// load_b returns op(B)[4q+kk, 4c+j] as column kk, component j, for the
// column group c whose first vec4 is base: B stored K×N gives a vec4 of
// each k, B stored N×K a vec4 of each column, transposed.
fn load_b(base: u32, q: u32, k4: u32, n4: u32) -> mat4x4<f32> {
  if (TRANS_B) {
    let p = base + q;
    return transpose(mat4x4<f32>(b[p], b[p + k4], b[p + 2u * k4], b[p + 3u * k4]));
  }
  let p = base + 4u * q * n4;
  return mat4x4<f32>(b[p], b[p + n4], b[p + 2u * n4], b[p + 3u * n4]);
}

// madd returns acc + Σ_kk ai[kk]·bm[kk], added one kk at a time in order.
fn madd(acc: vec4<f32>, ai: vec4<f32>, bm: mat4x4<f32>) -> vec4<f32> {
  var s = acc + ai.x * bm[0];
  s = s + ai.y * bm[1];
  s = s + ai.z * bm[2];
  return s + ai.w * bm[3];
}
