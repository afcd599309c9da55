/**
 * Statistics of a noisy metric measured with `--repeat R`: the mean of the repeats and its
 * standard error, whether the best is distinguishable from the runner-up, and whether a candidate
 * is hopeless enough to stop repeating (`--prune-margin`). Pure functions.
 *
 * The standard error of a mean of n values is s / sqrt(n), s the sample standard deviation (n - 1
 * in the denominator); with one value it is unknown (null). Two means a and b are told apart when
 * |a - b| > 2 * sqrt(se_a^2 + se_b^2): two standard errors of their difference, the usual rough
 * 95% criterion for independent estimates.
 */

export interface MeanEstimate {
  readonly mean: number;
  /** null with fewer than two values. */
  readonly se: number | null;
  readonly n: number;
}

export function meanAndStandardError(values: readonly number[]): MeanEstimate {
  const n = values.length;
  if (n === 0) throw new RangeError('no values to average');
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  if (n < 2) return { mean, se: null, n };
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), n };
}

/** Standard error of a - b for independent estimates; null when either is unknown. */
export function differenceError(a: MeanEstimate, b: MeanEstimate): number | null {
  return a.se === null || b.se === null ? null : Math.sqrt(a.se ** 2 + b.se ** 2);
}

/**
 * Whether best and runnerUp differ by more than two standard errors of their difference; null when
 * a standard error is unknown (a single repeat says nothing about the noise).
 */
export function isDistinguishable(best: MeanEstimate, runnerUp: MeanEstimate): boolean | null {
  const error = differenceError(best, runnerUp);
  return error === null ? null : Math.abs(best.mean - runnerUp.mean) > 2 * error;
}

/**
 * `--prune-margin m`: a candidate whose mean is worse than the best's by more than m standard errors
 * of the difference gets no further repeats. Never prunes the best itself, nor without an error.
 */
export function isHopeless(candidate: MeanEstimate, best: MeanEstimate, margin: number, maximize: boolean): boolean {
  const error = differenceError(candidate, best);
  if (error === null) return false;
  const worseBy = maximize ? best.mean - candidate.mean : candidate.mean - best.mean;
  return worseBy > margin * error;
}
