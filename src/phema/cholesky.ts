import { choleskyKernels } from './cholesky-kernels.js';

const BLOCK = 32;

/**
 * Cholesky factorisation and solves on flat row-major Float64Arrays. ml-matrix's own Cholesky
 * took 15 s for the 2,000 x 2,000 Gram matrix of a long run; this row-oriented version (each entry
 * one dot product of two contiguous rows, blocked for the cache, the products in WebAssembly SIMD)
 * keeps solving and inspecting thousands of snapshots interactive.
 */

/**
 * Lower-triangular L with A = L L^T (row-major, upper part zero), or undefined if A is not positive
 * definite. Rows are computed in blocks of BLOCK: each earlier row j is then streamed from memory
 * once per block instead of once per row (the factor of thousands of snapshots is far larger than
 * the caches).
 */
export function choleskyFactor(a: Float64Array, n: number): Float64Array | undefined {
  // L lives in the kernels' memory (byte addresses 8 * index), with four result slots after it.
  const results = 8 * n * n;
  const kernels = choleskyKernels(results + 32);
  const l = new Float64Array(kernels.memory.buffer, 0, n * n);
  const d = new Float64Array(kernels.memory.buffer, results, 4);
  for (let first = 0; first < n; first += BLOCK) {
    const end = Math.min(n, first + BLOCK);
    for (let j = 0; j < end; j++) {
      const rowJ = j * n;
      let i = Math.max(first, j);
      if (i === j) {
        const sum = a[rowJ + j] - kernels.dot(8 * rowJ, 8 * rowJ, j);
        if (!(sum > 0)) return undefined;
        l[rowJ + j] = Math.sqrt(sum);
        i++;
      }
      const pivot = l[rowJ + j];
      // Four rows at a time share each load of row j (the dominant memory traffic).
      for (; i + 3 < end; i += 4) {
        kernels.dot4(8 * i * n, 8 * n, 8 * rowJ, j, results);
        l[i * n + j] = (a[i * n + j] - d[0]) / pivot;
        l[(i + 1) * n + j] = (a[(i + 1) * n + j] - d[1]) / pivot;
        l[(i + 2) * n + j] = (a[(i + 2) * n + j] - d[2]) / pivot;
        l[(i + 3) * n + j] = (a[(i + 3) * n + j] - d[3]) / pivot;
      }
      for (; i < end; i++) l[i * n + j] = (a[i * n + j] - kernels.dot(8 * i * n, 8 * rowJ, j)) / pivot;
    }
  }
  return l;
}

/** Solves L L^T x = b in place for one right-hand side of length n. */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[row + k] * b[k];
    b[i] = sum / l[row + i];
  }
  // L^T x = y, by rows of L (contiguous) rather than its columns: once x_i is known, its share
  // is taken off every earlier equation.
  for (let i = n - 1; i >= 0; i--) {
    const row = i * n;
    const x = b[i] / l[row + i];
    b[i] = x;
    for (let k = 0; k < i; k++) b[k] -= l[row + k] * x;
  }
}

/** y = A x for a dense row-major n x n matrix. */
export function multiply(a: Float64Array, n: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += a[row + k] * x[k];
    y[i] = sum;
  }
}
