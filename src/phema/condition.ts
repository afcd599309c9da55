/**
 * 2-norm condition number of a symmetric positive definite matrix: lambda_max / lambda_min.
 *
 * Small systems use a full SVD (exact, matches numpy.linalg.cond). Large ones (thousands of
 * snapshots) would spend a minute in an O(n^3) SVD just for a diagnostic, so there lambda_max comes
 * from power iteration and lambda_min from inverse iteration with the Cholesky factor the solve
 * already computed; the eigenvalues of these Gram matrices are spread geometrically, so both
 * converge in tens to a hundred iterations. The estimate is good to about 1e-7 relative.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { choleskyFactor, choleskySolveInPlace, multiply } from './cholesky.js';

const EXACT_UP_TO = 200;
const TOLERANCE = 1e-10;
const MAX_ITERATIONS = 1000;

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
  const largest = powerIteration(n, (v, out) => multiply(a, n, v, out));
  const inverseSmallest = powerIteration(n, applyInverse);
  return largest * inverseSmallest;
}

/**
 * Dominant eigenvalue of a symmetric positive operator, as the Rayleigh quotient v.Av of the power
 * iterate: its error shrinks with the square of the iterate's, so it settles in half the iterations.
 */
function powerIteration(n: number, apply: (v: Float64Array, out: Float64Array) => void): number {
  // A fixed start vector with every component non-zero, so no eigenvector is missed.
  let v = Float64Array.from({ length: n }, (_, i) => 1 + i / n);
  let w = new Float64Array(n);
  normalise(v);
  let estimate = 0;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    apply(v, w);
    let rayleigh = 0;
    for (let i = 0; i < n; i++) rayleigh += v[i] * w[i];
    normalise(w);
    [v, w] = [w, v];
    if (Math.abs(rayleigh - estimate) <= TOLERANCE * rayleigh) return rayleigh;
    estimate = rayleigh;
  }
  return estimate;
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
