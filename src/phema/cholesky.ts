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
      let i = Math.max(first, j);
      if (i === j) {
        const sum = a[rowJ + j] - dot(l, rowJ, rowJ, j);
        if (!(sum > 0)) return undefined;
        l[rowJ + j] = Math.sqrt(sum);
        i++;
      }
      const pivot = l[rowJ + j];
      // Four rows at a time share each load of row j (the dominant memory traffic).
      for (; i + 3 < end; i += 4) {
        const [d0, d1, d2, d3] = dot4(l, i * n, n, rowJ, j);
        l[i * n + j] = (a[i * n + j] - d0) / pivot;
        l[(i + 1) * n + j] = (a[(i + 1) * n + j] - d1) / pivot;
        l[(i + 2) * n + j] = (a[(i + 2) * n + j] - d2) / pivot;
        l[(i + 3) * n + j] = (a[(i + 3) * n + j] - d3) / pivot;
      }
      for (; i < end; i++) l[i * n + j] = (a[i * n + j] - dot(l, i * n, rowJ, j)) / pivot;
    }
  }
  return l;
}

/** Dot products of rows r, r+1, r+2, r+3 (r = `row`, stride n) with row `other`, over `length` entries. */
function dot4(v: Float64Array, row: number, n: number, other: number, length: number): [number, number, number, number] {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const r1 = row + n;
  const r2 = row + 2 * n;
  const r3 = row + 3 * n;
  for (let k = 0; k < length; k++) {
    const x = v[other + k];
    s0 += v[row + k] * x;
    s1 += v[r1 + k] * x;
    s2 += v[r2 + k] * x;
    s3 += v[r3 + k] * x;
  }
  return [s0, s1, s2, s3];
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
