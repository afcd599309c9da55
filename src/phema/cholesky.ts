const BLOCK = 32;

/**
 * Cholesky factorisation and solves on flat row-major Float64Arrays. ml-matrix's own Cholesky
 * took 15 s for the 2,000 x 2,000 Gram matrix of a long run; this row-oriented version (each entry
 * one dot product of two contiguous rows, blocked for the cache, four partial sums) takes about 2 s
 * on the same machine, which keeps solving and inspecting thousands of snapshots interactive.
 */

/**
 * Lower-triangular L with A = L L^T (row-major, upper part zero), or undefined if A is not positive
 * definite. Rows are computed in blocks of BLOCK: each earlier row j is then streamed from memory
 * once per block instead of once per row (the factor of thousands of snapshots is far larger than
 * the caches).
 */
export function choleskyFactor(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let first = 0; first < n; first += BLOCK) {
    const end = Math.min(n, first + BLOCK);
    for (let j = 0; j < end; j++) {
      const rowJ = j * n;
      for (let i = Math.max(first, j); i < end; i++) {
        const rowI = i * n;
        const sum = a[rowI + j] - dot(l, rowI, rowJ, j);
        if (i === j) {
          if (!(sum > 0)) return undefined;
          l[rowI + i] = Math.sqrt(sum);
        } else {
          l[rowI + j] = sum / l[rowJ + j];
        }
      }
    }
  }
  return l;
}

/**
 * sum_k<length v[a + k] * v[b + k] with four independent partial sums: one running sum is a chain of
 * dependent additions, four let the CPU overlap them (about 3x faster in V8 here).
 */
function dot(v: Float64Array, a: number, b: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += v[a + k] * v[b + k];
    s1 += v[a + k + 1] * v[b + k + 1];
    s2 += v[a + k + 2] * v[b + k + 2];
    s3 += v[a + k + 3] * v[b + k + 3];
  }
  for (; k < length; k++) s0 += v[a + k] * v[b + k];
  return (s0 + s1) + (s2 + s3);
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
