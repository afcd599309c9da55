/**
 * The post-hoc EMA least-squares solve (MATH.md "Reconstruction"): for snapshots p_i and targets
 * r_j at one time T, find X minimising ||sum_i X_ij p_i - r_j|| for every j at once, then normalise
 * each column to sum to 1.
 */
import { LuDecomposition, Matrix } from 'ml-matrix';
import { NumericalError } from '../errors.js';
import { choleskyFactor, choleskySolveInPlace } from './cholesky.js';
import { conditionNumber, type InverseOperator } from './condition.js';
import { fitError } from './fit-error.js';
import type { Profile } from './inner-product.js';
import { powerBasis, type SnapshotBasis } from './snapshot-basis.js';
import { targetSelfProduct, type TargetProfile } from './target-profile.js';

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
  return solveProfiles(snapshots, targetGammas.map((gamma) => ({ kind: 'power', gamma })), targetTime);
}

/**
 * Any target profiles (power, exponential, window) at targetTime from snapshots with their
 * nominal power profiles; the same checks as solveCoefficients.
 */
export function solveProfiles(snapshots: readonly Profile[], targets: readonly TargetProfile[], targetTime: number): Solution {
  checkSnapshots(snapshots, targetTime);
  // The solution is invariant to the time unit; measuring time in units of T keeps entries near 1.
  return solveWithBasis(powerBasis(snapshots.map((s) => ({ time: s.time / targetTime, gamma: s.gamma }))), targets);
}

/**
 * The kind-agnostic solve: any snapshot basis (nominal or realised profiles, times in units of the
 * target time) against any target profiles at time 1. The caller has checked the snapshots.
 */
export function solveWithBasis(basis: SnapshotBasis, targets: readonly TargetProfile[]): Solution {
  if (basis.size === 0) throw new NumericalError('no snapshots to reconstruct from');
  const gram = basis.gram();
  const cross = basis.cross(targets);
  const { solution, method, applyInverse } = solveSymmetricSystem(gram, cross);

  const n = basis.size;
  const coefficients = Array.from({ length: n }, () => new Array<number>(targets.length).fill(0));
  const rawColumnSums: number[] = [];
  const fitErrors: number[] = [];
  const sumAbsCoefficients: number[] = [];
  targets.forEach((target, j) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += solution[i][j];
    if (!Number.isFinite(sum) || sum === 0) {
      throw new NumericalError(
        `the solve for ${describeTarget(target)} produced unusable coefficients (column sum ${sum})`,
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
    fitErrors.push(fitError(gram, column, cross.map((row) => row[j]), targetSelfProduct(target)));
  });
  return { coefficients, rawColumnSums, fitErrors, sumAbsCoefficients, condition: conditionNumber(gram, n, applyInverse), method };
}

function describeTarget(target: TargetProfile): string {
  switch (target.kind) {
    case 'power': return `gamma ${target.gamma}`;
    case 'exponential': return `the exponential profile of rate ${target.rate} per target time`;
    case 'window': return `the window of ${target.width} of the target time`;
  }
}

export function checkSnapshots(snapshots: readonly Profile[], targetTime: number): void {
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
 * Solves A X = B for symmetric positive definite A (row-major n x n). A is first equilibrated
 * (S = D A D with D = diag(A)^-1/2), which removes the spread in scale between early and late
 * snapshots; Cholesky is tried first and LU with partial pivoting (ml-matrix) is the fallback when
 * rounding makes A lose definiteness. ml-matrix's own errors are put in our words. Also returns
 * A^-1 as an operator, for the condition number.
 */
function solveSymmetricSystem(gram: Float64Array, cross: number[][]): { solution: number[][]; method: 'cholesky' | 'lu'; applyInverse?: InverseOperator } {
  const n = cross.length;
  const d = Float64Array.from({ length: n }, (_, i) => 1 / Math.sqrt(gram[i * n + i]));
  const scaled = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scaled[i * n + j] = gram[i * n + j] * (d[i] * d[j]);
  const targets = cross[0]?.length ?? 0;
  const factor = choleskyFactor(scaled, n);
  if (factor !== undefined) {
    const solution = Array.from({ length: n }, () => new Array<number>(targets));
    const column = new Float64Array(n);
    for (let j = 0; j < targets; j++) {
      for (let i = 0; i < n; i++) column[i] = cross[i][j] * d[i];
      choleskySolveInPlace(factor, n, column);
      for (let i = 0; i < n; i++) solution[i][j] = column[i] * d[i];
    }
    // A^-1 = D S^-1 D
    const applyInverse: InverseOperator = (v, out) => {
      for (let i = 0; i < n; i++) out[i] = v[i] * d[i];
      choleskySolveInPlace(factor, n, out);
      for (let i = 0; i < n; i++) out[i] *= d[i];
    };
    return { solution, method: 'cholesky', applyInverse };
  }
  const a = new Matrix(Array.from({ length: n }, (_, i) => Array.from(scaled.subarray(i * n, (i + 1) * n))));
  const lu = new LuDecomposition(a);
  if (lu.isSingular()) {
    throw new NumericalError(
      `the ${n}x${n} snapshot Gram matrix is singular`,
      'two snapshots may describe the same profile at the same time, or the profiles are too close to tell apart',
    );
  }
  const y = lu.solve(new Matrix(cross.map((row, i) => row.map((value) => value * d[i]))));
  return { solution: y.to2DArray().map((row, i) => row.map((value) => value * d[i])), method: 'lu' };
}
