/**
 * 2-norm condition number of a symmetric positive definite matrix: lambda_max / lambda_min.
 *
 * Small systems use a full SVD (exact, matches numpy.linalg.cond). Large ones (thousands of
 * snapshots) would spend seconds in an O(n^3) SVD just for a diagnostic, so there lambda_max comes
 * from power iteration and lambda_min from inverse iteration on a Cholesky factor.
 */
import { CholeskyDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';

const EXACT_UP_TO = 200;

export function conditionNumber(gram: readonly number[][]): number {
  const n = gram.length;
  if (n === 1) return 1;
  const matrix = new Matrix(gram as number[][]);
  if (n <= EXACT_UP_TO) {
    return new SingularValueDecomposition(matrix, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).condition;
  }
  const cholesky = new CholeskyDecomposition(matrix);
  if (!cholesky.isPositiveDefinite()) return Number.POSITIVE_INFINITY;
  const largest = powerIteration(n, (v) => matrix.mmul(v));
  const smallestInverse = powerIteration(n, (v) => cholesky.solve(v));
  return largest * smallestInverse;
}

/** Dominant eigenvalue of a symmetric positive operator, to about 1e-10 relative. */
function powerIteration(n: number, apply: (v: Matrix) => Matrix): number {
  // A fixed, non-symmetric start vector avoids being orthogonal to the dominant eigenvector.
  let v = Matrix.columnVector(Array.from({ length: n }, (_, i) => 1 + i / n));
  v = v.div(v.norm());
  let estimate = 0;
  for (let iteration = 0; iteration < 500; iteration++) {
    const w = apply(v);
    const next = w.norm();
    v = w.div(next);
    if (Math.abs(next - estimate) <= 1e-10 * next) return next;
    estimate = next;
  }
  return estimate;
}
