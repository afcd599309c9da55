/**
 * The inverse of a symmetric positive definite matrix (row-major n x n), for the greedy snapshot
 * elimination, which needs every entry of it to score each removal in O(1) per target.
 * From the Cholesky factor: A^-1 = L^-T L^-1 (n^3/3 multiply-adds in the SIMD dot-product kernels).
 */
import { inverse, Matrix } from 'ml-matrix';
import { NumericalError } from '../errors.js';
import { choleskyFactor } from './cholesky.js';
import { choleskyKernels } from './cholesky-kernels.js';

export function spdInverse(a: Float64Array, n: number): Float64Array {
  const factor = choleskyFactor(a, n);
  if (factor === undefined) return luInverse(a, n);
  // One memory: L at 0, V = (L^-1)^T at 8 n^2 (upper triangular: row j of V is column j of L^-1,
  // so both products below are dot products of contiguous runs, done by the SIMD kernels).
  const vBase = n * n;
  const results = 2 * n * n;
  const kernels = choleskyKernels(8 * results + 32);
  const memory = new Float64Array(kernels.memory.buffer, 0, results + 4);
  memory.set(factor.subarray(0, n * n), 0);
  // (L^-1)_ij = -(sum_{k=j}^{i-1} L_ik (L^-1)_kj) / L_ii, i > j.
  for (let j = 0; j < n; j++) {
    const vj = vBase + j * n;
    memory[vj + j] = 1 / memory[j * n + j];
    for (let i = j + 1; i < n; i++) memory[vj + i] = -kernels.dot(8 * (i * n + j), 8 * (vj + j), i - j) / memory[i * n + i];
  }
  // A^-1 = V V^T restricted to the nonzero tails: H_jl = sum_{i >= l} V_ji V_li for j <= l.
  const h = new Float64Array(n * n);
  const out = memory.subarray(results, results + 4);
  for (let l = 0; l < n; l++) {
    const vl = 8 * (vBase + l * n + l);
    let j = 0;
    for (; j + 3 <= l; j += 4) {
      kernels.dot4(8 * (vBase + j * n + l), 8 * n, vl, n - l, 8 * results);
      for (let r = 0; r < 4; r++) h[(j + r) * n + l] = h[l * n + j + r] = out[r];
    }
    for (; j <= l; j++) h[j * n + l] = h[l * n + j] = kernels.dot(8 * (vBase + j * n + l), vl, n - l);
  }
  return h;
}

/** Rounding can cost a nearly singular matrix its definiteness; LU with pivoting still inverts it. */
function luInverse(a: Float64Array, n: number): Float64Array {
  let result: Matrix;
  try {
    result = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))));
  } catch (error) {
    throw new NumericalError(`the ${n}x${n} snapshot Gram matrix cannot be inverted`, 'two snapshots may describe nearly the same profile at the same time', error);
  }
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = (result.get(i, j) + result.get(j, i)) / 2;
  return h;
}
