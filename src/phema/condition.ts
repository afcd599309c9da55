/**
 * 2-norm condition number of a symmetric positive definite matrix: lambda_max / lambda_min.
 *
 * Small systems use a full SVD (exact, matches numpy.linalg.cond). Large ones (thousands of
 * snapshots) would spend a minute in an O(n^3) SVD just for a diagnostic, so there lambda_max of A
 * and of A^-1 (applied with the Cholesky factor the solve already computed) come from a few dozen
 * Lanczos steps each. The estimate matches numpy's SVD to about 1e-8 relative on the references.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { choleskyFactor, choleskySolveInPlace, multiply } from './cholesky.js';

const EXACT_UP_TO = 200;
const TOLERANCE = 1e-12;
const MAX_ITERATIONS = 300;

/** Writes A^-1 v into `out`. */
export type InverseOperator = (v: Float64Array, out: Float64Array) => void;

/** `a` is row-major n x n; `applyInverse` applies its inverse (undefined: A is not positive definite). */
export function conditionNumber(a: Float64Array, n: number, applyInverse: InverseOperator | undefined): number {
  if (n === 1) return 1;
  if (n <= EXACT_UP_TO) {
    const matrix = new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));
    return new SingularValueDecomposition(matrix, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).condition;
  }
  if (applyInverse === undefined) return Number.POSITIVE_INFINITY;
  const largest = largestEigenvalue(n, (v, out) => multiply(a, n, v, out));
  const inverseSmallest = largestEigenvalue(n, applyInverse);
  return largest * inverseSmallest;
}

/**
 * Largest eigenvalue of a symmetric positive operator by the Lanczos method with full
 * reorthogonalisation: the extreme eigenvalue of the small tridiagonal matrix T it builds converges
 * far faster than power iteration when the top two eigenvalues are close (as lambda_min and its
 * neighbour are for these Gram matrices: power iteration needed hundreds of steps, Lanczos tens).
 */
function largestEigenvalue(n: number, apply: (v: Float64Array, out: Float64Array) => void): number {
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  // A fixed start vector with every component non-zero, so no eigenvector is missed.
  let v = Float64Array.from({ length: n }, (_, i) => 1 + i / n);
  normalise(v);
  let estimate = 0;
  for (let step = 0; step < Math.min(n, MAX_ITERATIONS); step++) {
    basis.push(v);
    const w = new Float64Array(n);
    apply(v, w);
    alpha.push(dotProduct(w, v));
    for (const q of basis) {
      const c = dotProduct(w, q);
      for (let i = 0; i < n; i++) w[i] -= c * q[i];
    }
    const next = largestOfTridiagonal(alpha, beta);
    const norm = normalise(w);
    if (Math.abs(next - estimate) <= TOLERANCE * next || norm <= 1e-14 * next) return next;
    estimate = next;
    beta.push(norm);
    v = w;
  }
  return estimate;
}

function largestOfTridiagonal(alpha: readonly number[], beta: readonly number[]): number {
  const m = alpha.length;
  const t = Matrix.zeros(m, m);
  for (let i = 0; i < m; i++) {
    t.set(i, i, alpha[i]);
    if (i + 1 < m) {
      t.set(i, i + 1, beta[i]);
      t.set(i + 1, i, beta[i]);
    }
  }
  return Math.max(...new EigenvalueDecomposition(t, { assumeSymmetric: true }).realEigenvalues);
}

function dotProduct(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function normalise(v: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return norm;
}

/** The condition number of `a` alone, factorising it when the estimate needs an inverse. */
export function conditionNumberOf(a: Float64Array, n: number): number {
  if (n <= EXACT_UP_TO) return conditionNumber(a, n, undefined);
  const factor = choleskyFactor(a, n);
  return conditionNumber(a, n, factor && ((v, out) => {
    out.set(v);
    choleskySolveInPlace(factor, n, out);
  }));
}
