import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { batchedProduct, fits, type Strides } from '../src/train/model/attention-kernels.js';

/** Deterministic values in [-0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
}

/** Float64 reference of C[j][m][n] = scale sum_k A[j][m][k] B[j][k][n] with element strides. */
function naive(
  J: number, M: number, N: number, K: number, a: Float32Array, sa: Strides, b: (j: number, k: number, n: number) => number,
  scale: number,
): Float64Array {
  const c = new Float64Array(J * M * N);
  for (let j = 0; j < J; j++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += a[j * sa.j + m * sa.outer + k * sa.inner] * b(j, k, n);
    c[(j * M + m) * N + n] = scale * sum;
  }
  return c;
}

test('rows-form products equal a float64 loop, with A read through transposed strides', () => {
  const [J, M, N, K] = [3, 8, 16, 12];
  const a = values(J * M * K, 1);
  const b = values(J * K * N, 2);
  // A stored [k][j][m] (m contiguous, the contracted axis outermost); B [k][j][n]; C [m][j][n].
  const sa = { j: M, outer: 1, inner: J * M };
  const sb = { j: N, outer: J * N, inner: 1 };
  const c = batchedProduct({ form: 'rows', J, M, N, K, a, aStrides: sa, b, bStrides: sb, cStrides: { j: N, outer: J * N, inner: 1 }, cSize: M * J * N });
  const want = naive(J, M, N, K, a, sa, (j, k, n) => b[k * J * N + j * N + n], 1);
  for (let j = 0; j < J; j++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    // 12 products of values under 0.5 in float32: rounding below 1e-6.
    assert.ok(Math.abs(c[m * J * N + j * N + n] - want[(j * M + m) * N + n]) < 1e-6, `j ${j} m ${m} n ${n}`);
  }
});

test('dots-form products equal a float64 loop, scaled, with a strided output', () => {
  const [J, M, N, K] = [2, 6, 8, 16];
  const a = values(M * J * K, 3);
  const b = values(N * J * K, 4);
  const sa = { j: K, outer: J * K, inner: 1 };
  const sb = { j: K, outer: J * K, inner: 1 };
  // Output transposed: C stored [n][j][m].
  const c = batchedProduct({ form: 'dots', J, M, N, K, a, aStrides: sa, b, bStrides: sb, cStrides: { j: M, outer: 1, inner: J * M }, cSize: M * J * N, scale: 0.25 });
  const want = naive(J, M, N, K, a, sa, (j, k, n) => b[n * J * K + j * K + k], 0.25);
  for (let j = 0; j < J; j++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    assert.ok(Math.abs(c[n * J * M + j * M + m] - want[(j * M + m) * N + n]) < 1e-6, `j ${j} m ${m} n ${n}`);
  }
});

test('the kernels accept only shapes their blocking divides', () => {
  assert.equal(fits('rows', 64, 48, 64), true);
  assert.equal(fits('rows', 64, 12, 64), false); // N not a multiple of 8
  assert.equal(fits('dots', 64, 64, 48), true);
  assert.equal(fits('dots', 5, 64, 48), false);
  assert.equal(fits('dots', 64, 64, 6), false); // K not a multiple of 4
});
