/**
 * The post-hoc EMA least-squares solve (MATH.md "Reconstruction"): for snapshots p_i and targets
 * r_j at one time T, find X minimising ||sum_i X_ij p_i - r_j|| for every j at once, then normalise
 * each column to sum to 1.
 */
import { CholeskyDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import { NumericalError } from '../errors.js';
import { conditionNumber } from './condition.js';
import { fitError } from './fit-error.js';
import { crossMatrix, gramMatrix, profileSelfInnerProduct, type Profile } from './inner-product.js';

export interface Solution {
  /** coefficients[i][j]: weight of snapshot i in target j; every column sums to 1. */
  readonly coefficients: number[][];
  /** Column sums of the least-squares solution before normalisation (1 for a perfect fit). */
  readonly rawColumnSums: number[];
  /** Relative L2 distance between the blended and target profiles, per target. */
  readonly fitErrors: number[];
  /** Sum of |coefficients| per target: amplification of rounding noise in the snapshots. */
  readonly sumAbsCoefficients: number[];
  /** 2-norm condition number of the Gram matrix (an estimate for large systems, see condition.ts). */
  readonly condition: number;
  /** Which factorisation solved the system. */
  readonly method: 'cholesky' | 'lu';
}

/**
 * Solves for all targets at once. Every snapshot must have 0 < time <= targetTime (the caller
 * selects them, see selectSnapshots); targets are exponents at targetTime.
 */
export function solveCoefficients(
  snapshots: readonly Profile[],
  targetGammas: readonly number[],
  targetTime: number,
): Solution {
  if (snapshots.length === 0) throw new NumericalError('no snapshots to reconstruct from');
  checkSnapshots(snapshots, targetTime);
  // The solution is invariant to the time unit; measuring time in units of T keeps entries near 1.
  const scaled = snapshots.map((s) => ({ time: s.time / targetTime, gamma: s.gamma }));
  const targets = targetGammas.map((gamma) => ({ time: 1, gamma }));

  const gram = gramMatrix(scaled);
  const cross = crossMatrix(scaled, targets);
  const { solution, method } = solveSymmetricSystem(gram, cross);

  const n = snapshots.length;
  const coefficients = Array.from({ length: n }, () => new Array<number>(targets.length).fill(0));
  const rawColumnSums: number[] = [];
  const fitErrors: number[] = [];
  const sumAbsCoefficients: number[] = [];
  targets.forEach((target, j) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += solution[i][j];
    if (!Number.isFinite(sum) || sum === 0) {
      throw new NumericalError(
        `the solve for gamma ${target.gamma} produced unusable coefficients (column sum ${sum})`,
        'the snapshot set may be degenerate; check `ema-synth inspect` for duplicate or too few snapshots',
      );
    }
    const column = new Array<number>(n);
    let sumAbs = 0;
    for (let i = 0; i < n; i++) {
      column[i] = solution[i][j] / sum;
      coefficients[i][j] = column[i];
      sumAbs += Math.abs(column[i]);
    }
    rawColumnSums.push(sum);
    sumAbsCoefficients.push(sumAbs);
    fitErrors.push(fitError(gram, column, cross.map((row) => row[j]), profileSelfInnerProduct(target)));
  });
  return { coefficients, rawColumnSums, fitErrors, sumAbsCoefficients, condition: conditionNumber(gram), method };
}

function checkSnapshots(snapshots: readonly Profile[], targetTime: number): void {
  const seen = new Map<string, number>();
  snapshots.forEach((s, index) => {
    if (!(s.time > 0 && s.time <= targetTime) || !(s.gamma > 0)) {
      throw new NumericalError(
        `snapshot ${index} (time ${s.time}, gamma ${s.gamma}) cannot be used for a target at time ${targetTime}`,
      );
    }
    const key = `${s.time}/${s.gamma}`;
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new NumericalError(
        `snapshots ${previous} and ${index} have the same time (${s.time}) and profile (gamma ${s.gamma}): the system is singular`,
      );
    }
    seen.set(key, index);
  });
}

/**
 * Solves A X = B for symmetric positive definite A. A is first equilibrated (D A D with
 * D = diag(A)^-1/2), which removes the spread in scale between early and late snapshots; Cholesky
 * is tried first and LU with partial pivoting is the fallback when rounding makes A lose
 * definiteness. ml-matrix's own errors are put in our words.
 */
function solveSymmetricSystem(gram: number[][], cross: number[][]): { solution: number[][]; method: 'cholesky' | 'lu' } {
  const n = gram.length;
  const d = gram.map((row, i) => 1 / Math.sqrt(row[i]));
  const a = new Matrix(gram.map((row, i) => row.map((value, j) => value * (d[i] * d[j]))));
  const b = new Matrix(cross.map((row, i) => row.map((value) => value * d[i])));
  let y: Matrix;
  let method: 'cholesky' | 'lu' = 'cholesky';
  const cholesky = new CholeskyDecomposition(a);
  if (cholesky.isPositiveDefinite()) {
    y = cholesky.solve(b);
  } else {
    method = 'lu';
    const lu = new LuDecomposition(a);
    if (lu.isSingular()) {
      throw new NumericalError(
        `the ${n}x${n} snapshot Gram matrix is singular`,
        'two snapshots may describe the same profile at the same time, or the profiles are too close to tell apart',
      );
    }
    y = lu.solve(b);
  }
  const solution = y.to2DArray().map((row, i) => row.map((value) => value * d[i]));
  return { solution, method };
}
